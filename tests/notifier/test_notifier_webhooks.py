"""Webhooks against a real HTTP receiver on a real socket, the notifier's real database and broker: the
signature checks with the snippet of docs/webhooks.md, a redelivered event is sent once, 500s and
timeouts are retried, a dead receiver is switched off after 24 h (time driven through `now`) with an
e-mail to the admins, a receiver stuck for 30 s does not hold up an e-mail, and the address guard refuses
a redirect to 127.0.0.1 and a name resolving to 10.0.0.1 (resolver and connector injected)."""
import json
import socket
import uuid
from dataclasses import asdict, replace
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
import sqlalchemy as sa
from nameko_sqlalchemy import Database

from services.notifier import directory
from services.notifier.webhooks.config import WebhookSettings
from services.notifier.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from services.notifier.webhooks import store
from services.notifier.webhooks.guard import Guard
from services.notifier.webhooks.service import SHOW_WAIT_SECONDS, WebhooksService, deliver
from services.notifier.webhooks.transport import Transport
from shared.contracts.enums import TICKET_CREATED, TICKET_UPDATED
from shared.contracts.exceptions import NotFound, ValidationError
from shared.testing import free_port, rpc_proxy, wait_for
from tests.fixtures.notifier import deliveries_in, ticket_envelope, ticket_payload
from tests.fixtures.webhooks import documented_verify

CLIENT = str(uuid.uuid4())


def make_endpoint(sessions, settings, url, events=("ticket.*",), client=CLIENT):
    with sessions.begin() as session:
        return store.create_endpoint(session, client, {"url": url, "events": list(events)}, "admin@acme.example",
                                     settings)


def deliveries_of(sessions, endpoint_id):
    with sessions() as session:
        return list(session.scalars(sa.select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == uuid.UUID(endpoint_id)).order_by(WebhookDelivery.id)))


def attempts_of(sessions, delivery_id):
    with sessions() as session:
        return list(session.scalars(sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                                    .order_by(WebhookAttempt.number)))


def event(client=CLIENT, event_type=TICKET_CREATED, **ticket):
    return ticket_envelope(event_type, ticket_payload(client_id=client, **ticket))


# ---------------------------------------------------------------- through the running process

def test_a_delivery_is_signed_as_documented_and_a_redelivered_event_is_sent_once(
        notifier_sessions, webhook_settings, webhooks_service, receiver, publish_ticket_event):
    verify = documented_verify()
    endpoint = make_endpoint(notifier_sessions, webhook_settings, receiver.url)
    make_endpoint(notifier_sessions, webhook_settings, receiver.url + "/chat-only", events=["chat.*"])
    envelope = publish_ticket_event(event(title="Signed"))
    publish_ticket_event(event(client=str(uuid.uuid4())))  # another client's: not ours

    (request,) = receiver.wait_for_count(1)
    headers = request["headers"]
    assert verify(endpoint["secret"], headers["Deskline-Signature"], request["body"])
    assert not verify(endpoint["secret"], headers["Deskline-Signature"], request["body"] + b" ")
    assert not verify("whsec_wrong", headers["Deskline-Signature"], request["body"])
    old = int(headers["Deskline-Signature"].split(",")[0][2:])
    assert not verify(endpoint["secret"], headers["Deskline-Signature"], request["body"], now=old + 301)
    assert headers["Deskline-Event"] == TICKET_CREATED and headers["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == envelope and request["path"] == "/hook"

    (row,) = deliveries_of(notifier_sessions, endpoint["id"])
    assert headers["Deskline-Delivery"] == str(row.id)
    wait_for(lambda: deliveries_of(notifier_sessions, endpoint["id"])[0].status == "delivered")
    publish_ticket_event(envelope)  # the relay publishes it again: nothing more is sent
    publish_ticket_event(event(event_type=TICKET_UPDATED))
    receiver.wait_for_count(2)
    wait_for(lambda: len(deliveries_of(notifier_sessions, endpoint["id"])) == 2)
    assert len(receiver.requests) == 2


def test_500_and_timeouts_are_retried_until_delivered_and_each_attempt_is_logged(
        notifier_sessions, webhook_settings, webhooks_service, webhooks_rpc, receiver, publish_ticket_event):
    endpoint = make_endpoint(notifier_sessions, webhook_settings, receiver.url)
    receiver.answer(500, body=b"boom " * 400)
    receiver.answer(200, delay=webhook_settings.read_timeout + 1)  # answered after the sender gave up
    publish_ticket_event(event())
    receiver.wait_for_count(3)
    wait_for(lambda: deliveries_of(notifier_sessions, endpoint["id"])[0].status == "delivered")
    (row,) = deliveries_of(notifier_sessions, endpoint["id"])
    assert row.attempts == 3
    first, second, third = attempts_of(notifier_sessions, row.id)
    assert (first.status_code, first.ok, first.error) == (500, False, "HTTP 500")
    assert first.response_excerpt.startswith("boom") and len(first.response_excerpt) == webhook_settings.excerpt_chars
    assert (second.status_code, second.ok, second.error) == (None, False, "timed out")
    assert second.latency_ms >= webhook_settings.read_timeout * 1000 * 0.9
    assert (third.status_code, third.ok) == (200, True)
    assert len({request["headers"]["Deskline-Delivery"] for request in receiver.requests}) == 1

    # The log the admins read (newest first, each with its attempts), "send again" and "send a test event".
    (logged,) = webhooks_rpc.list_webhook_deliveries(CLIENT, endpoint["id"])
    assert logged["status"] == "delivered" and [a["number"] for a in logged["attempt_log"]] == [3, 2, 1]
    again = webhooks_rpc.redeliver(CLIENT, endpoint["id"], row.id)
    assert again["status"] == "delivered" and again["attempts"] == 4
    assert receiver.requests[-1]["headers"]["Deskline-Delivery"] == str(row.id)
    test = webhooks_rpc.send_test(CLIENT, endpoint["id"], "admin@acme.example")
    assert test["status"] == "delivered" and test["event_type"] == "webhook.test"
    assert receiver.requests[-1]["headers"]["Deskline-Event"] == "webhook.test"
    with pytest.raises(NotFound):
        webhooks_rpc.send_test(str(uuid.uuid4()), endpoint["id"])  # another client's admin


def test_a_receiver_stuck_for_30_seconds_does_not_hold_up_an_email(
        container_factory, webhooks_config, notifier_sessions, notifier_service, smtp_sink, receiver,
        publish_ticket_event):
    settings = replace(WebhookSettings.from_config(webhooks_config), read_timeout=35.0, total_timeout=35.0,
                       lease_seconds=80.0)
    container_factory(WebhooksService, {**webhooks_config, "WEBHOOKS": asdict(settings)}).start()
    endpoint = make_endpoint(notifier_sessions, settings, receiver.url)
    receiver.hold()  # every answer waits up to 30 s
    publish_ticket_event(event(ticket_number="TKT-00042", customer_email="kira@example.com"))
    receiver.wait_for_count(1)
    smtp_sink.wait_for_count(1, timeout=10)
    assert smtp_sink.for_ticket("TKT-00042")
    (row,) = deliveries_of(notifier_sessions, endpoint["id"])
    assert row.status == "sending"  # the webhook is still waiting for its receiver
    # An admin's "send a test event" answers within seconds, the attempt still going on.
    with rpc_proxy(webhooks_config["AMQP_URI"], timeout=10) as rpc:
        test = rpc.webhooks.send_test(CLIENT, endpoint["id"])
    assert test["status"] == "sending" and test["event_type"] == "webhook.test"
    receiver.release()
    wait_for(lambda: all(row.status == "delivered" for row in deliveries_of(notifier_sessions, endpoint["id"])))


def test_an_attempt_still_recording_when_its_worker_ends_is_recorded_once(
        notifier_sessions, webhook_settings, webhooks_service, webhooks_rpc, receiver):
    """"Send a test event" answers after SHOW_WAIT_SECONDS while the attempt goes on in a thread of its
    own; here the attempt is in the middle of its recording transaction when the RPC's worker ends. The
    worker's teardown used to close that thread's session too (with green psycopg2, a query in flight
    then blocked the whole process on the connection's lock; between queries the outcome was lost and
    the delivery sent again once its lease ran out)."""
    engine = next(dep for dep in webhooks_service.extensions if isinstance(dep, Database)).engine
    stalled = []

    def stall_recording(conn, cursor, statement, parameters, context, executemany):
        recording = statement.startswith("UPDATE webhook_deliveries") and isinstance(parameters, dict) \
            and parameters.get("status") == "delivered"
        if recording and not stalled:
            stalled.append(statement)
            eventlet.sleep(SHOW_WAIT_SECONDS + 1)  # inside the transaction, past the RPC's answer

    sa.event.listen(engine, "before_cursor_execute", stall_recording)
    try:
        endpoint = make_endpoint(notifier_sessions, webhook_settings, receiver.url)
        shown = webhooks_rpc.send_test(CLIENT, endpoint["id"], "admin@acme.example")
        assert shown["status"] == "sending" and stalled
        wait_for(lambda: deliveries_of(notifier_sessions, endpoint["id"])[0].status == "delivered",
                 message="the stalled attempt's outcome")
        (row,) = deliveries_of(notifier_sessions, endpoint["id"])
        assert row.attempts == 1 and len(attempts_of(notifier_sessions, row.id)) == 1
        assert len(receiver.requests) == 1  # recorded by its own attempt, not redone after the lease
        assert webhooks_rpc.list_webhooks(CLIENT)  # the process still answers
    finally:
        sa.event.remove(engine, "before_cursor_execute", stall_recording)


# ---------------------------------------------------------------- retries and switching off, time driven by `now`

def _scope(sessions):
    return sessions.begin


def test_a_dead_receiver_is_retried_then_switched_off_after_24_hours_and_the_admins_are_emailed(
        notifier_sessions, webhook_settings):
    settings = replace(webhook_settings, retry_base_seconds=30.0, retry_max_seconds=3600.0)
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, {
            "client": {"id": CLIENT, "slug": "acme", "name": "Acme"},
            "agents": [{"id": str(uuid.uuid4()), "email": "boss@acme.example", "name": "Boss", "role": "admin",
                        "active": True},
                       {"id": str(uuid.uuid4()), "email": "ben@acme.example", "name": "Ben", "role": "agent",
                        "active": True}]})
    dead_port = free_port()  # nothing listens there
    endpoint = make_endpoint(notifier_sessions, settings, f"http://127.0.0.1:{dead_port}/hook")
    transport = Transport(Guard(allow_private=True), connect_timeout=1, read_timeout=1, total_timeout=2)
    start = datetime.now(timezone.utc) - timedelta(hours=25)
    with notifier_sessions.begin() as session:
        (claim,) = store.record_event(session, event(), 10, settings, now=start)

    now, delays = start, []
    while True:
        status, result = deliver(_scope(notifier_sessions), transport, settings, claim, now=now)
        assert not result.ok and "connection failed" in result.error
        if status == "dead":
            break
        assert status == "pending"
        row = deliveries_of(notifier_sessions, endpoint["id"])[0]
        delays.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
        with notifier_sessions.begin() as session:
            assert store.claim_due(session, settings, 10, now=now - timedelta(seconds=1)) == []  # not yet due
            (claim,) = store.claim_due(session, settings, 10, now=now)
    # Exponential back-off with jitter: each delay within [ceiling/2, ceiling], the ceiling doubling to 1 h.
    for number, delay in enumerate(delays[:-1], start=1):
        ceiling = min(3600.0, 30.0 * 2 ** (number - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert now == start + timedelta(hours=24)  # the last try is at the window's end
    assert len(delays) > 10 and delays[-2] > 1800
    row = deliveries_of(notifier_sessions, endpoint["id"])[0]
    assert row.status == "dead" and row.attempts == len(delays) + 1
    assert len(attempts_of(notifier_sessions, row.id)) == row.attempts

    with notifier_sessions() as session:
        switched = session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        assert not switched.active and "24 hours" in switched.disabled_reason
    # One e-mail to the one admin, waiting in the notifier's delivery log for its retry timer.
    (owed,) = deliveries_in(notifier_sessions, kind="webhook_disabled")
    assert owed.recipient == "boss@acme.example" and owed.status == "pending"
    assert owed.context["url"] == endpoint["url"]
    # An event now owes the switched-off endpoint nothing; switched on again, it starts afresh.
    with notifier_sessions.begin() as session:
        assert store.record_event(session, event(), 10, settings) == []
        back = store.update_endpoint(session, CLIENT, endpoint["id"], {"active": True}, settings)
    assert back["active"] and back["failing_since"] is None and back["disabled_reason"] is None


def test_the_email_to_admins_is_sent_by_the_notifier(notifier_sessions, webhook_settings, notifier_service, smtp_sink):
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, {
            "client": {"id": CLIENT, "slug": "acme", "name": "Acme"},
            "agents": [{"id": str(uuid.uuid4()), "email": "boss@acme.example", "name": "Boss", "role": "admin",
                        "active": True}]})
    endpoint = make_endpoint(notifier_sessions, webhook_settings, "http://127.0.0.1:9/hook")
    now = datetime.now(timezone.utc)
    with notifier_sessions.begin() as session:
        row = session.get(WebhookEndpoint, uuid.UUID(endpoint["id"]))
        row.failing_since = now - timedelta(hours=24, seconds=1)
    with notifier_sessions.begin() as session:
        assert store.disable_if_failing(session, uuid.UUID(endpoint["id"]), webhook_settings, now)
        assert not store.disable_if_failing(session, uuid.UUID(endpoint["id"]), webhook_settings, now)  # once
    (mail,) = smtp_sink.wait_for_count(1)
    assert mail.rcpt_tos == ["boss@acme.example"] and mail.subject.startswith("Webhook switched off")
    assert "/agent/webhooks" in mail.part("plain")
    wait_for(lambda: deliveries_in(notifier_sessions, kind="webhook_disabled")[0].status == "sent")


# ---------------------------------------------------------------- the address guard

class Network:
    """A resolver and a connector for the transport: names resolve as the test says, and a "public"
    address is routed to the receiver on loopback (as a NAT would), so the guard is on for real."""

    def __init__(self, names, routes):
        self.names, self.routes, self.lookups, self.connected = names, routes, [], []

    def resolve(self, host, port):
        self.lookups.append(host)
        answers = self.names[host]
        return [answers.pop(0)] if isinstance(answers, list) and len(answers) > 1 else \
            (answers if isinstance(answers, list) else [answers])

    def connect(self, address, port, timeout):
        self.connected.append(address)
        target = self.routes.get(address, (address, port))
        return socket.create_connection(target, timeout=timeout)


def test_the_guard_refuses_a_redirect_to_loopback_and_a_name_resolving_to_a_private_address(receiver):
    network = Network({"hooks.example.com": "93.184.216.34", "internal.example.com": "10.0.0.1",
                       "meta.example.com": "169.254.169.254", "v6.example.com": "::ffff:127.0.0.1"},
                      {"93.184.216.34": ("127.0.0.1", receiver.port)})
    transport = Transport(Guard(allow_private=False, resolver=network.resolve), connect=network.connect,
                          connect_timeout=1, read_timeout=2, total_timeout=3)

    ok = transport.post("http://hooks.example.com/hook", b"{}", {})
    assert ok.ok and network.connected == ["93.184.216.34"]

    receiver.answer(302, headers={"Location": f"http://127.0.0.1:{receiver.port}/inside"})
    redirected = transport.post("http://hooks.example.com/hook", b"{}", {})
    assert not redirected.ok and redirected.status_code == 302
    assert "127.0.0.1 is a loopback address" in redirected.error
    assert [request["path"] for request in receiver.requests] == ["/hook", "/hook"]  # /inside never reached

    for host, reason in (("internal.example.com", "10.0.0.1 is a private"), ("meta.example.com", "link-local"),
                         ("v6.example.com", "loopback"), ("127.0.0.1", "loopback")):
        refused = transport.post(f"http://{host}:{receiver.port}/hook", b"{}", {})
        assert not refused.ok and refused.status_code is None and reason in refused.error, host
    assert network.connected == ["93.184.216.34", "93.184.216.34"]  # no refused address was connected to


def test_the_guard_connects_to_the_address_it_checked_not_a_second_answer(receiver):
    # DNS rebinding: the first answer is public, any later one loopback. One lookup, and that address is used.
    network = Network({"rebind.example.com": ["93.184.216.34", "127.0.0.1"]},
                      {"93.184.216.34": ("127.0.0.1", receiver.port)})
    transport = Transport(Guard(resolver=network.resolve), connect=network.connect, connect_timeout=1,
                          read_timeout=2, total_timeout=3)
    assert transport.post("http://rebind.example.com/hook", b"{}", {}).ok
    assert network.lookups == ["rebind.example.com"] and network.connected == ["93.184.216.34"]
    again = transport.post("http://rebind.example.com/hook", b"{}", {})
    assert not again.ok and "loopback" in again.error and network.connected == ["93.184.216.34"]


def test_a_followed_redirect_passes_the_same_checks(receiver):
    network = Network({"hooks.example.com": "93.184.216.34", "next.example.com": "93.184.216.35"},
                      {"93.184.216.34": ("127.0.0.1", receiver.port), "93.184.216.35": ("127.0.0.1", receiver.port)})
    transport = Transport(Guard(resolver=network.resolve), connect=network.connect, connect_timeout=1,
                          read_timeout=2, total_timeout=3)
    receiver.answer(307, headers={"Location": "http://next.example.com/moved"})
    moved = transport.post("http://hooks.example.com/hook", b'{"a":1}', {"Deskline-Delivery": "7"})
    assert moved.ok and [r["path"] for r in receiver.requests] == ["/hook", "/moved"]
    assert receiver.requests[1]["body"] == b'{"a":1}' and receiver.requests[1]["headers"]["Deskline-Delivery"] == "7"
    receiver.answer(302, headers={"Location": "ftp://next.example.com/x"})
    assert "Only http and https" in transport.post("http://hooks.example.com/hook", b"{}", {}).error


def test_saving_an_endpoint_refuses_a_forbidden_literal_address_with_the_guard_on(notifier_sessions, webhook_settings):
    guarded = replace(webhook_settings, allow_private=False)

    for url in ("http://127.0.0.1/hook", "http://169.254.169.254/latest", "http://[::1]/x", "http://localhost/x",
                "https://10.1.2.3/x"):
        with notifier_sessions.begin() as session, pytest.raises(ValidationError) as refused:
            store.create_endpoint(session, CLIENT, {"url": url, "events": ["*"]}, None, guarded)
        assert "url" in refused.value.errors, url
    with notifier_sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0
