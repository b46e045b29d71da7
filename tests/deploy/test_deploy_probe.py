"""The container probes (`python -m shared.platform.probe`) against a real service process, broker and HTTP server."""
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.platform.probe import amqp_port
from shared.testing import ServiceProcess
from tests.deploy.conftest import probe

pytestmark = pytest.mark.slow


def test_amqp_port_follows_the_uri():
    assert amqp_port("amqp://u:p@rabbitmq/deskline") == 5672
    assert amqp_port("amqps://u:p@rabbitmq/deskline") == 5671
    assert amqp_port("amqp://u:p@127.0.0.1:5673/") == 5673


def test_nameko_probe_checks_this_process_and_the_service(amqp_uri, tickets_db):
    env = {"AMQP_URI": amqp_uri}
    service = ServiceProcess("tickets", {"TICKETS_DATABASE_URL": tickets_db}, amqp_uri).start()
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        pid = str(service.process.pid)
        assert probe("tickets", "--pid", pid, env=env) == (0, "tickets: ok")
        assert probe("tickets", "--pid", pid, "--no-rpc", env=env) == (0, "tickets: ok")
        # Liveness is per process: a process without a broker connection fails although the service answers.
        status, reason = probe("tickets", "--pid", str(bystander.pid), env=env)
        assert status == 1 and "no connection to the broker" in reason

        service.stop(signal.SIGKILL)
        status, reason = probe("tickets", "--pid", pid, env=env)
        assert status == 1 and "not running" in reason
        # The service's durable queue is still there, so only the timeout tells that nobody answers.
        started = time.monotonic()
        status, reason = probe("tickets", "--any-instance", "--timeout", "1", env=env)
        assert status == 1 and "did not answer ping within 1s" in reason
        assert time.monotonic() - started < 10
    finally:
        bystander.kill()
        bystander.wait()
        service.stop()


def test_nameko_probe_fails_quickly_when_the_broker_is_unreachable():
    status, reason = probe("tickets", "--any-instance", "--timeout", "1",
                           env={"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"})
    assert status == 1 and "broker unreachable" in reason


def test_http_probe_is_healthy_on_200_only():
    answers = {"/healthz": 200, "/readyz": 503}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(answers.get(self.path, 404))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert probe("--http", f"{base}/healthz")[0] == 0
        assert probe("--http", f"{base}/readyz") == (1, f"{base}/readyz: 503")
    finally:
        server.shutdown()
        server.server_close()
    status, _ = probe("--http", f"{base}/healthz", "--timeout", "1")
    assert status == 1
