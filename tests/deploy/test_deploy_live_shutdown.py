"""The gateway stops on SIGTERM, or Ctrl-C, well within its graceful timeout while agents' live streams
(SSE) are open: the streams end at once and their threads do not hold a worker until SIGKILL.

Before the fix, Ctrl-C (SIGINT to the process group, workers included) took the whole graceful_timeout
(20 s) and a SIGKILL from the arbiter: a worker's quick exit joins its thread pool, and a stream's thread
never ends by itself."""
import os
import signal
import subprocess
import threading
import time

import pytest
import requests

from services.tracker_gateway import gunicorn_conf
from shared.testing import ROOT, http_ok, wait_for
from tests.deploy.conftest import VENV_BIN, free_port
from tests.deploy.test_deploy_scaled import procfile
from tests.fixtures.gateway import TEST_REDIS_URL

pytestmark = pytest.mark.slow


def open_stream(url, headers, seen):
    """Read a live stream until the server ends it; `seen` gets each line."""
    with requests.get(url, headers=headers, stream=True, timeout=(5, 60)) as response:
        seen.append(f"status {response.status_code}")
        for line in response.iter_lines(decode_unicode=True):
            seen.append(line)
    seen.append("ended")


@pytest.mark.parametrize("sig, to_group", [
    (signal.SIGTERM, False),  # a supervisor, docker stop, kubernetes
    (signal.SIGINT, True),  # Ctrl-C in the terminal: the whole process group, workers included
])
def test_a_stop_signal_with_open_live_streams_stops_the_gateway_within_its_graceful_timeout(
        tmp_path, amqp_uri, gateway_db, redis_prefix, tenants, token_for, sig, to_group):
    port = free_port()
    log_path = tmp_path / "gateway.log"
    with open(log_path, "wb") as log:
        # The command `make run` starts (deploy/Procfile), in a session of its own like a container's.
        gateway = subprocess.Popen(
            procfile()["gateway"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
                 "GATEWAY_PORT": str(port), "GATEWAY_DATABASE_URL": gateway_db, "AMQP_URI": amqp_uri,
                 "REDIS_URL": TEST_REDIS_URL, "GATEWAY_REDIS_PREFIX": redis_prefix, "GATEWAY_WORKERS": "2",
                 "GATEWAY_THREADS": "4", "GATEWAY_READY_SERVICES": "", "GUNICORN_CMD_ARGS": "--no-control-socket"},
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(f"{base}/healthz", gateway, log_path), timeout=30, interval=0.2,
                 message="gunicorn to answer")
        headers = {"Authorization": f"Bearer {token_for(tenants[0])}"}
        streams = [[] for _ in range(4)]
        for seen in streams:
            threading.Thread(target=open_stream, args=(f"{base}/api/live?feeds=tickets", headers, seen),
                             daemon=True).start()
        wait_for(lambda: all("event: ready" in seen for seen in streams), timeout=20,
                 message="every stream to be ready")

        started = time.monotonic()
        (os.killpg if to_group else os.kill)(gateway.pid, sig)
        status = gateway.wait(gunicorn_conf.graceful_timeout + 5)
        took = time.monotonic() - started
        output = log_path.read_text()
        assert status == 0, output
        # Well within graceful_timeout (20 s; before the fix Ctrl-C took all of it, then SIGKILL): the
        # streams end at once; what remains is gunicorn's own stop (about 1-3 s here).
        assert took < gunicorn_conf.graceful_timeout / 2, f"took {took:.1f}s\n{output}"
        wait_for(lambda: all(seen[-1] == "ended" for seen in streams), timeout=5, message="the streams to end")
        assert "Traceback" not in output and "SIGKILL" not in output, output
    finally:
        if gateway.poll() is None:
            os.killpg(gateway.pid, signal.SIGKILL)
            gateway.wait()
