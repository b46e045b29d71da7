"""One request followed by its correlation id through the JSON logs of the gateway (gunicorn, two
workers), the tickets service and the notifier, down to the email; and each one's Prometheus metrics."""
import json
import os
import re
import subprocess
import uuid

import pytest
import requests

from shared.testing import ROOT, ServiceProcess, http_ok, wait_for
from tests.deploy.conftest import VENV_BIN, free_port
from tests.fixtures.gateway import TEST_REDIS_URL
from tests.fixtures.notifier import notifier_process_env

pytestmark = pytest.mark.slow


def json_lines(text):
    """The log's JSON records (gunicorn's own lines are plain text)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def sample(text, name, **labels):
    """The sum of the samples of `name` whose labels include `labels` (Prometheus text format)."""
    total, found = 0.0, False
    for match in re.finditer(rf"^{name}\{{(.*?)\}} (\S+)$", text, re.M):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if labels.items() <= pairs.items():
            total, found = total + float(match.group(2)), True
    return total if found else None


def metrics(port):
    return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def test_a_request_is_followed_from_the_gateway_to_the_email_and_every_service_counts(
        tmp_path, amqp_uri, tickets_db, notifier_db, gateway_db, redis_prefix, smtp_sink, tenants, token_for):
    tickets_metrics, notifier_metrics, port, gateway_metrics = free_port(), free_port(), free_port(), free_port()
    common = {"LOG_FORMAT": "json"}
    tickets = ServiceProcess("tickets", {**common, "TICKETS_DATABASE_URL": tickets_db,
                                         "METRICS_PORT": str(tickets_metrics)}, amqp_uri).start()
    notifier = ServiceProcess("notifier", {**common, **notifier_process_env(notifier_db, smtp_sink),
                                           "METRICS_PORT": str(notifier_metrics)}, amqp_uri).start()
    log = open(tmp_path / "gateway.log", "wb")
    gateway = subprocess.Popen(
        [str(ROOT / "deploy" / "start.sh"), "gateway"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, **common, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
             "GATEWAY_PORT": str(port), "GATEWAY_DATABASE_URL": gateway_db, "AMQP_URI": amqp_uri,
             "REDIS_URL": TEST_REDIS_URL, "GATEWAY_REDIS_PREFIX": redis_prefix, "GATEWAY_WORKERS": "2",
             "GATEWAY_THREADS": "4", "GATEWAY_READY_SERVICES": "tickets,notifier", "METRICS_PORT": str(gateway_metrics)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(f"{base}/readyz", gateway, tmp_path / "gateway.log"), timeout=30, interval=0.2,
                 message="the gateway to be ready")
        headers = {"Authorization": f"Bearer {token_for(tenants[0])}"}

        request_id = f"obs-{uuid.uuid4().hex[:12]}"
        followed = requests.post(f"{base}/api/entities/ticket", headers={**headers, "X-Request-ID": request_id},
                                 json={"title": "Follow me", "description": "d", "customer_email": "f@example.com"})
        assert followed.status_code == 201 and followed.headers["X-Request-ID"] == request_id
        number = followed.json()["ticket_number"]
        others = [requests.post(f"{base}/api/entities/ticket", headers=headers, timeout=10,
                                json={"title": f"Other {n}", "description": "d", "customer_email": "o@example.com"})
                  for n in range(3)]
        generated = {response.headers["X-Request-ID"] for response in others}
        assert len(generated) == 3 and request_id not in generated
        # An id that could forge log fields is replaced, not echoed.
        odd = requests.get(f"{base}/api/entities/ticket/TKT-99999", headers={**headers, "X-Request-ID": 'x" y'})
        assert odd.status_code == 404 and odd.headers["X-Request-ID"] != 'x" y'
        smtp_sink.wait_for_count(4, timeout=20)

        # The logs: the same id at the gateway, in the tickets worker, in the notifier's handler and send.
        def with_id(text):
            return [record["message"] for record in json_lines(text) if record.get("correlation_id") == request_id]
        wait_for(lambda: any("email delivery" in m for m in with_id(notifier.output())), timeout=10,
                 message="the notifier's delivery line")
        assert any(m.startswith("POST /api/entities/ticket 201") for m in with_id((tmp_path / "gateway.log").read_text()))
        assert any(m.startswith("rpc tickets.create_ticket ok") for m in with_id(tickets.output()))
        notifier_lines = with_id(notifier.output())
        assert any(m.startswith("event ticket.created handled by notifier.on_ticket_created: ok") for m in notifier_lines)
        assert any(re.match(r"email delivery \d+: sent", m) for m in notifier_lines)
        assert len(smtp_sink.for_ticket(number)) == 1

        # The metrics.
        text = metrics(tickets_metrics)
        assert sample(text, "deskline_rpc_handled_total", service="tickets", method="create_ticket", outcome="ok") == 4
        assert sample(text, "deskline_rpc_handled_total", method="get_ticket", outcome="expected_error") == 1
        assert sample(text, "deskline_rpc_handled_seconds_count", method="create_ticket") == 4
        assert sample(text, "deskline_events_published_total", event_type="ticket.created", outcome="ok") == 4
        assert sample(text, "deskline_outbox_backlog", service="tickets") == 0
        text = metrics(notifier_metrics)
        assert sample(text, "deskline_events_consumed_total", service="notifier", event_type="ticket.created",
                      outcome="ok") == 4
        assert sample(text, "deskline_email_deliveries_total", status="sent") == 4
        # The gateway's, summed over its two gunicorn workers.
        text = wait_for(lambda: metrics(gateway_metrics), message="the gateway's metrics port")
        assert sample(text, "deskline_http_requests_total", method="POST", status="201") == 4
        assert sample(text, "deskline_http_requests_total", method="GET", status="404") == 1
        assert sample(text, "deskline_rpc_calls_total", service="tickets", method="create_ticket", outcome="ok") == 4
        assert sample(text, "deskline_http_request_seconds_count", method="POST") == 4
        # Not served on the public port at all, and the public port names no server software.
        public = requests.get(f"{base}/metrics")
        assert public.status_code == 404 and "gunicorn" not in public.headers.get("Server", "").lower()
    finally:
        gateway.terminate()
        try:
            gateway.wait(25)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait()
        log.close()
        notifier.stop()
        tickets.stop()
