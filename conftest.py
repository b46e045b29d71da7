"""Root conftest: monkey patch before anything else is imported (or integration tests hang)."""
import shared.green  # noqa: F401

# Each service's fixtures, available to every test (a gateway test needs a real tickets service).
pytest_plugins = ["tests.fixtures.tickets", "tests.fixtures.notifier", "tests.fixtures.gateway", "tests.fixtures.chat",
                  "tests.fixtures.chat_web"]
