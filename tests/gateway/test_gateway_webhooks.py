"""Webhooks for admins (/api/webhooks) against the real webhooks process, notifier database and broker,
with a real receiver: an admin creates one (201, the secret once), lists, changes and deletes it, reads
its deliveries, sends a test event and sends a delivery again; each answer matches the document. Agents
get 403, another client 404, a bad URL or event list 422 with the field, and nothing is written."""
import uuid

import pytest

from services.tracker_gateway.accounts.roles import ADMIN_ONLY
from tests.fixtures.openapi import DocumentedCalls
from tests.fixtures.webhooks import documented_verify
from tests.gateway.test_gateway_agents import add_agent, bearer, login

API = "/api/webhooks"


@pytest.fixture
def people(http, tenants, gateway_engine, password_hash):
    """Headers of acme's admin, of Ben (an agent of acme), of globex's admin."""
    add_agent(gateway_engine, password_hash, tenants[0], "ben@acme.example")
    return (bearer(login(http, tenants[0].email)), bearer(login(http, "ben@acme.example")),
            bearer(login(http, tenants[1].email)))


def test_an_admin_manages_webhooks_and_reads_their_deliveries(http, gateway_app, people, webhooks_service, receiver):
    admin, _, other_admin = people
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    created = call("POST", API, 201, headers=admin, json={"url": receiver.url, "events": ["ticket.*", "ticket.rated"]})
    assert created["secret"].startswith("whsec_") and created["secret_hint"] == created["secret"][-4:]
    assert created["active"] is True and created["events"] == ["ticket.*", "ticket.rated"]
    (listed,) = call("GET", API, 200, headers=admin)["items"]
    assert "secret" not in listed and listed["id"] == created["id"]
    assert call("GET", API, 200, headers=other_admin)["items"] == []

    one = f"{API}/{created['id']}"
    test = call("POST", f"{one}/test", 200, headers=admin)
    assert test["status"] == "delivered" and test["event_type"] == "webhook.test" and test["attempts"] == 1
    (request,) = receiver.requests
    assert documented_verify()(created["secret"], request["headers"]["Deskline-Signature"], request["body"])
    assert request["headers"]["Deskline-Delivery"] == str(test["id"])

    receiver.answer(503, body=b"busy")
    again = call("POST", f"{one}/deliveries/{test['id']}/retry", 200, headers=admin)
    assert again["status"] == "pending" and again["last_status_code"] == 503
    (logged,) = call("GET", f"{one}/deliveries", 200, headers=admin)["items"]
    # Newest first; the 503 is retried within a second here (the tests' back-off), so there may be a third.
    assert [(a["number"], a["status_code"], a["ok"], a["response_excerpt"]) for a in logged["attempt_log"]][-2:] == [
        (2, 503, False, "busy"), (1, 200, True, "ok")]
    assert logged["attempt_log"][0]["latency_ms"] >= 0

    changed = call("PATCH", one, 200, headers=admin, json={"active": False, "events": ["chat.*"]})
    assert changed["active"] is False and changed["events"] == ["chat.*"]
    call("PATCH", one, 404, headers=other_admin, json={"active": True})
    call("GET", f"{one}/deliveries", 404, headers=other_admin)
    call("POST", f"{one}/test", 404, headers=other_admin)
    call("POST", f"{one}/deliveries/{test['id']}/retry", 404, headers=other_admin)
    call("POST", f"{one}/deliveries/{test['id'] + 1000}/retry", 404, headers=admin)
    call("DELETE", one, 404, headers=other_admin)
    call("DELETE", one, 204, headers=admin)
    call("DELETE", one, 404, headers=admin)
    call("GET", f"{API}/{uuid.uuid4()}/deliveries", 404, headers=admin)
    assert call("GET", API, 200, headers=admin)["items"] == []
    assert call.seen == call.operations(lambda path: path.startswith(API))


def test_agents_get_403_and_bad_input_422_with_nothing_written(http, gateway_app, people, webhooks_service):
    admin, agent, _ = people
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    for method, path in (("GET", API), ("POST", API), ("PATCH", f"{API}/{uuid.uuid4()}"),
                         ("DELETE", f"{API}/{uuid.uuid4()}"), ("GET", f"{API}/{uuid.uuid4()}/deliveries"),
                         ("POST", f"{API}/{uuid.uuid4()}/test"), ("POST", f"{API}/{uuid.uuid4()}/deliveries/1/retry")):
        body = call(method, path, 403, headers=agent, json={"url": "https://hooks.example.com/x", "events": ["*"]})
        assert body["message"] == ADMIN_ONLY, (method, path)
    bad = [
        ({"url": "ftp://hooks.example.com/x", "events": ["*"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["*"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x", "events": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x", "events": ["ticket.exploded"]}, "events.0"),
        ({"url": "https://hooks.example.com/x"}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/x", "events": "ticket.*"}, "events"),
    ]
    for payload, field in bad:
        body = call("POST", API, 422, headers=admin, json=payload)
        assert field in body["errors"], (payload, body)
    call("POST", API, 422, headers=admin, data="not json", content_type="application/json")
    assert call("GET", API, 200, headers=admin)["items"] == []


def test_the_guard_refuses_a_private_address_when_saved(http, gateway_app, people, container_factory, webhooks_config):
    from dataclasses import asdict, replace

    from services.notifier.webhooks.config import WebhookSettings
    from services.notifier.webhooks.service import WebhooksService

    guarded = replace(WebhookSettings.from_config(webhooks_config), allow_private=False)
    container_factory(WebhooksService, {**webhooks_config, "WEBHOOKS": asdict(guarded)}).start()
    admin = people[0]
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    for url in ("http://127.0.0.1:8000/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/x"):
        body = call("POST", API, 422, headers=admin, json={"url": url, "events": ["*"]})
        assert "url" in body["errors"], url
    assert call("POST", API, 201, headers=admin, json={"url": "https://hooks.example.com/x", "events": ["*"]})
