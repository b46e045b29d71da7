"""Root conftest: monkey patch before anything else is imported (or integration tests hang).

Browser tests are the exception: Playwright's sync API hangs in an eventlet-patched process, and they
need no patching (their services run as OS processes). A run given only paths under BROWSER_TESTS is
left unpatched; any other run is patched and leaves them out (`make test` runs them as a second process).
"""
import sys
from pathlib import Path

BROWSER_TESTS = [Path(__file__).parent / "tests" / "ui", Path(__file__).parent / "tests" / "chat_web" / "browser"]


def _browser_run(args):
    """True when every path named on the command line is inside BROWSER_TESTS."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in args if not arg.startswith("-") and Path(arg.split("::")[0]).exists()]
    return bool(paths) and all(any(path.is_relative_to(folder) for folder in BROWSER_TESTS) for path in paths)


BROWSER_RUN = _browser_run(sys.argv[1:])
if not BROWSER_RUN:
    from shared.platform.green import patch

    patch()
    from shared.platform import runtime

    runtime.init()  # in-process services reply, and ride out outages, as they do in their own processes

    collect_ignore = [str(folder) for folder in BROWSER_TESTS]


def pytest_report_header(config):
    if not BROWSER_RUN:
        return "browser tests (tests/ui) run in a process of their own: pytest tests/ui"


# Each service's fixtures, available to every test (a gateway test needs a real tickets service).
pytest_plugins = ["tests.fixtures.tickets", "tests.fixtures.notifier", "tests.fixtures.gateway", "tests.fixtures.chat",
                  "tests.fixtures.chat_web", "tests.fixtures.ui", "tests.fixtures.webhooks"]
