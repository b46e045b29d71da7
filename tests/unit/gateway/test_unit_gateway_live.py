"""The live stream without a broker: the SSE generator fed through a Subscription, and the hub's
fan-out (tenants, feeds, capacity, control messages) with its consumer thread left out."""
import json
import time

import pytest
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.console import live


class OfflineHub(live.LiveHub):
    """The hub with no consumer thread: the test plays the broker through _broadcast and _on_message."""

    def _ensure_consumer(self):
        pass


class Message:
    """What kombu hands _on_message: the exchange the event came from."""

    def __init__(self, exchange):
        self.delivery_info = {"exchange": exchange}


def ticket_event(client_id, event_type="ticket.updated", event_id="e-1"):
    return {"event_id": event_id, "event_type": event_type, "occurred_at": "2026-11-30T12:00:00+00:00",
            "version": 1, "data": {"ticket": {"client_id": client_id, "ticket_number": "TKT-00001"}}}


def chat_event(client_id):
    return {"event_id": "c-1", "event_type": "chat.message_posted", "occurred_at": "2026-11-30T12:00:00+00:00",
            "version": 1, "data": {"conversation": {"client_id": client_id}}}


def frames(subscription, still_valid=lambda: True, expires_in=60.0, count=None):
    """The stream's frames as (event, data) pairs ((None, comment) for comments), up to `count`."""
    parsed = []
    for text in live._events(subscription, still_valid, time.time() + expires_in):
        fields = dict(line.split(": ", 1) for line in text.strip().split("\n") if not line.startswith(":"))
        if text.startswith(":"):
            parsed.append((None, text[2:].strip()))
        else:
            parsed.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
        if count is not None and len(parsed) == count:
            break
    return parsed


@pytest.fixture
def quick_heartbeat(monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.01)


def test_a_stream_opens_with_a_comment_then_says_ready_with_its_feeds_then_sends_events():
    subscription = live.Subscription("acme", ["tickets", "chat"])
    subscription.offer(live.READY)
    subscription.offer(ticket_event("acme"))
    subscription.offer(live.STOP)
    assert frames(subscription) == [
        (None, "live"),
        ("ready", {"feeds": ["chat", "tickets"]}, None),
        ("ticket.updated", ticket_event("acme"), "e-1"),
    ]


def test_paused_then_ready_again():
    subscription = live.Subscription("acme", ["tickets"])
    for item in (live.PAUSED, live.READY, live.STOP):
        subscription.offer(item)
    assert [frame[0] for frame in frames(subscription)] == [None, "paused", "ready"]


def test_an_overflowing_inbox_becomes_one_ready_and_the_page_reloads():
    subscription = live.Subscription("acme", ["tickets"])
    for number in range(live.BACKLOG + 5):
        subscription.offer(ticket_event("acme", event_id=f"e-{number}"))
    # The backlog was dropped for one OVERFLOW, then the events after it queued again.
    events = frames(subscription, count=2 + 4)[1:]
    assert events[0][:2] == ("ready", {"feeds": ["tickets"]})
    assert [frame[2] for frame in events[1:]] == [f"e-{number}" for number in range(live.BACKLOG + 1, live.BACKLOG + 5)]


def test_ready_and_stop_drop_what_was_queued_but_paused_does_not():
    subscription = live.Subscription("acme", ["tickets"])
    subscription.offer(ticket_event("acme", event_id="stale"))
    subscription.control(live.READY)
    assert list(subscription.inbox.queue) == [live.READY]
    subscription.offer(ticket_event("acme", event_id="kept"))
    subscription.control(live.PAUSED)
    assert [item if isinstance(item, str) else item["event_id"] for item in subscription.inbox.queue] == [
        live.READY, "kept", live.PAUSED]
    subscription.control(live.STOP)
    assert list(subscription.inbox.queue) == [live.STOP]


def test_an_idle_stream_sends_heartbeats(quick_heartbeat):
    subscription = live.Subscription("acme", ["tickets"])
    assert frames(subscription, count=3) == [(None, "live"), (None, "keep-alive"), (None, "keep-alive")]


def test_a_revoked_token_ends_the_stream_at_the_next_heartbeat(quick_heartbeat):
    checks = []

    def still_valid():
        checks.append(1)
        return len(checks) < 3

    assert frames(live.Subscription("acme", ["tickets"]), still_valid) == [
        (None, "live"), (None, "keep-alive"), (None, "keep-alive"), ("expired", {}, None)]


def test_an_expired_token_ends_the_stream_even_with_events_waiting():
    subscription = live.Subscription("acme", ["tickets"])
    subscription.offer(ticket_event("acme"))
    assert frames(subscription, expires_in=-1) == [(None, "live"), ("expired", {}, None)]


def test_the_wait_never_outlasts_the_token():
    started = time.monotonic()
    assert frames(live.Subscription("acme", ["tickets"]), expires_in=0.05)[-1] == ("expired", {}, None)
    assert time.monotonic() - started < live.HEARTBEAT_SECONDS / 2


def test_the_hub_sends_each_event_to_its_clients_streams_that_follow_its_feed():
    hub = OfflineHub("amqp://unused")
    acme_tickets = hub.subscribe("acme", ["tickets"])
    acme_chat = hub.subscribe("acme", ["chat"])
    globex_both = hub.subscribe("globex", ["tickets", "chat"])
    hub._on_message(ticket_event("acme"), Message("tickets.events"))
    hub._on_message(chat_event("globex"), Message("chat.events"))
    assert [item["event_type"] for item in acme_tickets.inbox.queue] == ["ticket.updated"]
    assert list(acme_chat.inbox.queue) == []
    assert [item["event_type"] for item in globex_both.inbox.queue] == ["chat.message_posted"]
    # Only the envelope's fields travel on.
    assert set(acme_tickets.inbox.queue[0]) == {"event_id", "event_type", "occurred_at", "data"}


@pytest.mark.parametrize("body, exchange", [
    ({"event_type": "ticket.updated", "data": {}}, "tickets.events"),  # no ticket in the data
    ({"data": {"ticket": {"client_id": "acme"}}}, "tickets.events"),  # not an envelope
    ("a string", "tickets.events"),
    (ticket_event("acme"), "unknown.events"),  # no feed of ours
])
def test_unreadable_events_are_dropped_not_raised(body, exchange):
    hub = OfflineHub("amqp://unused")
    subscription = hub.subscribe("acme", ["tickets", "chat"])
    hub._on_message(body, Message(exchange))
    assert list(subscription.inbox.queue) == []


def test_a_stream_opened_before_the_first_connection_waits_then_every_stream_hears_the_state():
    hub = OfflineHub("amqp://unused")
    early = hub.subscribe("acme", ["tickets"])
    assert list(early.inbox.queue) == []  # nothing to say until the consumer connects
    hub._broadcast(live.READY)
    after_ready = hub.subscribe("acme", ["tickets"])
    hub._broadcast(live.PAUSED)
    while_paused = hub.subscribe("acme", ["tickets"])
    assert list(early.inbox.queue) == [live.READY, live.PAUSED]
    assert list(after_ready.inbox.queue) == [live.READY, live.PAUSED]
    assert list(while_paused.inbox.queue) == [live.PAUSED]


def test_the_hub_refuses_streams_past_its_capacity_and_after_stop():
    hub = OfflineHub("amqp://unused", capacity=2)
    first, second = hub.subscribe("acme", ["tickets"]), hub.subscribe("acme", ["tickets"])
    assert hub.subscribe("acme", ["tickets"]) is None
    hub.unsubscribe(first)
    assert hub.subscribe("acme", ["tickets"]) is not None
    hub.stop()
    assert list(second.inbox.queue) == [live.STOP] and frames(second) == [(None, "live")]
    hub.unsubscribe(second)
    assert hub.subscribe("acme", ["tickets"]) is None


@pytest.mark.parametrize("query, feeds", [("", ["tickets", "chat"]), ("?feeds=chat", ["chat"]),
                                          ("?feeds=tickets,%20chat,", ["tickets", "chat"])])
def test_the_requested_feeds(offline_app, query, feeds):
    with offline_app.test_request_context(f"/api/live{query}"):
        assert live._requested_feeds() == feeds


@pytest.mark.parametrize("query, message", [("?feeds=tickets,billing", "Unknown feed: billing."),
                                            ("?feeds=,", "Name a feed.")])
def test_unknown_or_no_feeds_are_a_validation_error(offline_app, query, message):
    with offline_app.test_request_context(f"/api/live{query}"):
        with pytest.raises(SchemaError) as refused:
            live._requested_feeds()
    assert refused.value.messages == {"feeds": [message]}
