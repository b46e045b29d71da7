"""The container image definition: non-root, no secret, only runtime packages (and enough of them), and
an entry point that starts each component and runs the migrate step for real."""
import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa
from kombu import Connection
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared.testing import ROOT
from shared.testing import test_database_url as database_for_test

DEPLOY = ROOT / "deploy"
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
SECRET_WORDS = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE", re.I)


def final_stage():
    return DOCKERFILE.rsplit("\nFROM ", 1)[1]


def instructions(text, keyword):
    """Each `KEYWORD ...` instruction's arguments, with continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.upper().startswith(keyword + " ")]


def env_names(text):
    names = []
    for args in instructions(text, "ENV"):
        names += re.findall(r"([A-Z_][A-Z0-9_]*)=", args)
    return names


def test_image_runs_as_a_non_root_user_and_carries_no_secret():
    users = instructions(final_stage(), "USER")
    assert users, "the final stage must switch to a non-root user"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000  # numeric, so Kubernetes' runAsNonRoot can verify it
    for keyword in ("ENV", "ARG", "LABEL"):
        for args in instructions(DOCKERFILE, keyword):
            assert not SECRET_WORDS.search(args), f"{keyword} {args}"
    copied = " ".join(instructions(DOCKERFILE, "COPY"))
    assert ".env" not in copied and "tests" not in copied
    assert "deploy/.env" in (DEPLOY / "Dockerfile.dockerignore").read_text()
    # Every variable the image sets is one the code reads, or Python's own.
    from tests.unit.deploy.test_deploy_config import code_variables
    known = set().union(*code_variables().values()) | {"PATH", "PYTHONPATH", "PYTHONUNBUFFERED",
                                                       "PYTHONDONTWRITEBYTECODE", "PIP_DISABLE_PIP_VERSION_CHECK",
                                                       "PIP_NO_CACHE_DIR"}
    assert set(env_names(DOCKERFILE)) <= known


def runtime_requirements():
    """The image's install list, made by the Dockerfile's own filter command over the real files."""
    build = DOCKERFILE.split("\nFROM ")[1]
    command = re.search(r"RUN (sed .*?) > /tmp/runtime.txt", re.sub(r"\\\n\s*", " ", build)).group(1)
    command = command.replace("/tmp/image-excludes.txt", str(DEPLOY / "image-excludes.txt"))
    command = command.replace("/tmp/requirements.lock", str(ROOT / "requirements.lock"))
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    return {canonicalize_name(line.split("==")[0]): line for line in out.split()}


def test_image_installs_the_lock_without_test_tools_and_nothing_it_needs_is_left_out():
    kept = runtime_requirements()
    locked = {canonicalize_name(line.split("==")[0]) for line in (ROOT / "requirements.lock").read_text().split()}
    excluded = {canonicalize_name(name) for name in (DEPLOY / "image-excludes.txt").read_text().split()}
    assert excluded <= locked, "an excluded name is not in the lock (misspelt?)"
    assert set(kept) == locked - excluded
    # What `pip check` does in the build, here over this environment's metadata: every kept package's
    # requirements are kept too.
    environment = default_environment()
    for name in kept:
        for spec in importlib.metadata.distribution(name).requires or []:
            requirement = Requirement(spec)
            if requirement.marker and not requirement.marker.evaluate({**environment, "extra": ""}):
                continue
            assert canonicalize_name(requirement.name) in kept, f"{name} needs {requirement.name}"


def test_every_component_imports_without_the_excluded_packages():
    excluded = {canonicalize_name(name) for name in (DEPLOY / "image-excludes.txt").read_text().split()}
    modules = sorted(module for module, dists in importlib.metadata.packages_distributions().items()
                     if all(canonicalize_name(dist) in excluded for dist in dists) and not module.startswith("_"))
    script = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {modules!r}:
                    raise ImportError("not in the image: " + name)
        sys.meta_path.insert(0, Block())
        import shared.platform.green; shared.platform.green.patch()
        import nameko.cli.run, gunicorn.app.wsgiapp, gunicorn.workers.gthread
        import services.tickets.service, services.notifier.service, services.chat.service
        import services.tracker_gateway.app, services.tracker_gateway.projector.service, services.tracker_gateway.projector.cli, services.tracker_gateway.cli
        import services.tracker_gateway.gunicorn_conf, shared.platform.probe, shared.platform.migrations, shared.platform.queues
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr[-3000:]


def start_sh(*args, env=None, timeout=120):
    return subprocess.run(
        [str(DEPLOY / "start.sh"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}",
             "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_entry_point_names_every_component():
    assert start_sh("help").returncode == 0
    unknown = start_sh("ticket")
    assert unknown.returncode == 64 and "unknown component" in unknown.stderr
    script = (DEPLOY / "start.sh").read_text()
    for component in ("tickets", "notifier", "chat", "gateway", "tracker_projector", "migrate", "probe"):
        assert re.search(rf"^\s*(\S+\|)*{component}(\|\S+)*\)", script, re.M), component
    # Every start is an exec: the component is PID 1 and receives SIGTERM itself.
    for line in script.splitlines():
        if re.match(r"\s*[a-z_|]+\) python", line):
            pytest.fail(f"not exec'd: {line}")


@pytest.mark.slow
def test_migrate_step_creates_databases_declares_queues_and_bootstraps_once(amqp_uri):
    from services.chat.service import ChatService
    from services.notifier.service import NotifierService
    from shared.platform.queues import event_queues

    urls = {f"{name}_DATABASE_URL": database_for_test(f"deskline_{name.lower()}_migrate")
            for name in ("TICKETS", "NOTIFIER", "CHAT", "GATEWAY")}
    for url in urls.values():
        target = sa.engine.make_url(url)
        admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()
    env = {**urls, "AMQP_URI": amqp_uri, "ADMIN_EMAIL": "ops@deskline.test", "ADMIN_PASSWORD": "a long enough password"}

    first = start_sh("migrate", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created admin ops@deskline.test" in first.stdout
    again = start_sh("migrate", env=env)
    assert again.returncode == 0 and "created" not in again.stdout, again.stdout + again.stderr

    for url in urls.values():
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
    # The consumers' queues exist before any service ran: a passive declare fails on a missing queue.
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for service in (NotifierService, ChatService):
            for queue in event_queues(service, {"AMQP_URI": amqp_uri}):
                queue(channel).queue_declare(passive=True)
