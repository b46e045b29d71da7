"""Issue 11, point 16: the OpenAPI document against the running API. schemathesis fuzzes every
documented operation of a gateway under gunicorn (tickets, chat and the tracker projector behind it),
bounded by a number of generated cases per operation and a fixed seed, and the run must find no server
error, no answer the document does not describe (status, content type, headers, body), and no input
the document calls valid that the API refuses or calls invalid that the API takes (the checks and
their reasoned exceptions: schemathesis.toml beside this file)."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from services.notifier.webhooks.guard import Guard
from services.notifier.webhooks.transport import Transport
from shared.testing import ROOT, free_port, wait_for
from tests.fixtures.chat_web import CUSTOMER
from tests.fixtures.gateway import TEST_REDIS_URL

# Per operation in the fuzzing phase; the coverage phase before it tries each constraint's edges
# whatever this is. Every documented operation: 135-158 s on a quiet 2-core machine (docs/gateway.md).
MAX_EXAMPLES = 6
SEED = 11
CONFIG = Path(__file__).with_name("schemathesis.toml")
pytestmark = pytest.mark.slow

LIMITS = ("CHAT_STARTS_PER_IP", "CHAT_POSTS_PER_IP", "CHAT_READS_PER_IP", "TRACKER_FAILURES_PER_IP",
          "TRACKER_FAILURES_PER_TICKET", "TRACKER_LINK_EMAILS_PER_IP", "LOGIN_FAILURES_PER_IP")


@pytest.fixture
def webhooks_config(webhooks_config):
    """The fuzzer's webhook URLs name hosts anywhere: "send a test event" and "send again" must not look them
    up or call them (a name lookup on a machine without DNS waits for the resolver's timeouts)."""
    return {**webhooks_config, "WEBHOOK_TRANSPORT": Transport(Guard(resolver=_no_outside_host))}


def _no_outside_host(host, port):
    raise OSError(f"the fuzz run reaches no outside host ({host})")


@pytest.fixture
def fuzzed_gateway(gateway_db, amqp_uri, redis_prefix, tickets_service, chat_service, notifier_service, tracker_projector,
                   webhooks_service, tmp_path):
    """A gateway under gunicorn whose document names itself as the server (PUBLIC_BASE_URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.tracker_gateway", "run"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_PORT": str(port), "GATEWAY_DATABASE_URL": gateway_db,
             "AMQP_URI": amqp_uri, "REDIS_URL": TEST_REDIS_URL, "GATEWAY_REDIS_PREFIX": redis_prefix,
             "GATEWAY_WORKERS": "2", "GATEWAY_THREADS": "4", "RPC_TIMEOUT": "10", "PUBLIC_BASE_URL": base,
             "GATEWAY_READY_SERVICES": "tickets",
             # The fuzzer is one address sending hundreds of requests: limits high enough to reach the API.
             **{name: "100000" for name in LIMITS}},
    )

    def up():
        try:
            return requests.get(f"{base}/readyz", timeout=5).status_code == 200  # tickets answers too
        except requests.RequestException:
            assert process.poll() is None, log_path.read_text()
            return False

    try:
        wait_for(up, timeout=30, interval=0.2, message="gunicorn to answer")
        yield base, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_fuzzing_the_document_finds_no_server_error_and_no_disagreement(fuzzed_gateway, tenants, tmp_path):
    base, log_path = fuzzed_gateway
    acme = tenants[0]
    login = requests.post(f"{base}/api/auth/login", json={"email": acme.email, "password": acme.password}, timeout=10)
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    # Something to find: a ticket and a conversation on acme's page.
    ticket = {"title": "Printer on fire", "description": "d", "customer_email": CUSTOMER["customer_email"]}
    assert requests.post(f"{base}/api/entities/ticket", headers=headers, timeout=10, json=ticket).status_code == 201
    assert requests.post(f"{base}/api/public/chat/acme/conversations", timeout=10,
                         json={**CUSTOMER, "message": "Hello"}).status_code == 201

    # Logging out revokes the token the run authenticates with: that operation runs last, alone.
    first = _fuzz(base, headers, tmp_path / "api", "--exclude-path", "/api/auth/logout")
    last = _fuzz(base, headers, tmp_path / "logout", "--include-path", "/api/auth/logout")
    assert "Traceback" not in log_path.read_text()
    spec = requests.get(f"{base}/api/openapi.json", timeout=10).json()
    assert first["operations"] == sum(len(operations) for operations in spec["paths"].values()) - 1
    assert last["operations"] == 1
    print(f"fuzzed: {first['requests'] + last['requests']} requests, statuses {first['statuses']}")


def _fuzz(base, headers, report, *selection):
    """One schemathesis run over the document; returns what it tested."""
    report.mkdir(parents=True, exist_ok=True)
    st = os.path.join(os.path.dirname(sys.executable), "st")
    run = subprocess.run(
        [st, "--config-file", str(CONFIG), "run", f"{base}/api/openapi.json", *selection,
         "--header", f"Authorization: {headers['Authorization']}",
         "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--phases", "examples,coverage,fuzzing",
         # Generating strings for the text and e-mail patterns is slow by Hypothesis' measure, not a fault.
         "--suppress-health-check", "too_slow", "--generation-database", "none",
         # One worker: the coverage phase's caches are shared between worker threads, and two workers made
         # an intermittent error inside schemathesis itself (a "Runtime Error", no request involved).
         "--workers", "1", "--request-timeout", "10", "--no-color",
         "--report", "ndjson", "--report-ndjson-path", str(report / "events.ndjson")],
        cwd=report.parent, capture_output=True, text=True, timeout=600,
    )
    (report / "stdout.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, _failure_excerpt(run.stdout) + run.stderr[-3000:]
    return _tested(report / "events.ndjson")


def _failure_excerpt(output):
    """What a failed run found: the errors and failures sections first (a long one is cut), then the summary."""
    start = min((output.find(heading) for heading in ("ERRORS", "FAILURES") if heading in output), default=0)
    return output[start:start + 8000] + "\n[...]\n" + output[-6000:]


def _tested(events):
    """{"operations": how many were tested, "requests": how many answers, "statuses": {status: count}}."""
    labels, statuses = set(), {}
    for line in events.read_text().splitlines():
        scenario = json.loads(line).get("ScenarioFinished")
        if not scenario:
            continue
        labels.add(scenario["recorder"]["label"])
        for interaction in scenario["recorder"].get("interactions", {}).values():
            if interaction.get("response"):
                status = interaction["response"]["status_code"]
                statuses[status] = statuses.get(status, 0) + 1
    assert not any(status >= 500 for status in statuses), statuses
    return {"operations": len(labels), "requests": sum(statuses.values()), "statuses": statuses}
