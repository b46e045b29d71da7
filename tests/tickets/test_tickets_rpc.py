"""The tickets service through its real RPC entrypoints and real events (RabbitMQ, PostgreSQL)."""
import socket
import time
import uuid

import pytest
import sqlalchemy as sa

from services.tickets import operations
from services.tickets.models import OutboxEvent
from shared.contracts.exceptions import NotFound, ValidationError
from shared.testing import EventCollector, wait_for

NEW = {"title": "VPN drops", "description": "Every hour", "client_id": "acme", "customer_email": "c@acme.io"}


@pytest.fixture
def events(amqp_uri, tickets_service):
    with EventCollector(amqp_uri, "tickets") as collector:
        yield collector


def test_create_returns_plain_json_with_the_number(tickets_rpc):
    ticket = tickets_rpc.create_ticket(NEW)
    assert ticket["ticket_number"] == "TKT-00001"
    assert isinstance(ticket["id"], str) and isinstance(ticket["created_at"], str)
    assert ticket["created_at"].endswith("+00:00")
    assert tickets_rpc.get_ticket("TKT-00001", client_id="acme") == ticket
    assert tickets_rpc.get_ticket(ticket["id"], client_id="acme") == ticket


def test_errors_cross_rpc_as_typed_exceptions(tickets_rpc):
    with pytest.raises(ValidationError) as error:
        tickets_rpc.create_ticket({**NEW, "status": "bogus", "title": ""})
    assert error.value.errors == {
        "status": ["Must be one of: open, in_progress, pending, resolved, closed."],
        "title": ["Must not be blank."],
    }
    with pytest.raises(NotFound):
        tickets_rpc.get_ticket("TKT-00042")
    tickets_rpc.create_ticket(NEW)
    with pytest.raises(NotFound):
        tickets_rpc.get_history("TKT-00001", client_id="globex")


def test_list_update_delete_history_round_trip(tickets_rpc):
    for title in ("one", "two", "three"):
        tickets_rpc.create_ticket({**NEW, "title": title})
    page = tickets_rpc.list_tickets({"client_id": "acme", "q": "two"})
    assert [t["title"] for t in page["items"]] == ["two"] and page["total"] == 1
    updated = tickets_rpc.update_ticket("TKT-00002", {"status": "closed"}, "agent-9", client_id="acme")
    assert updated["status"] == "closed" and updated["closed_at"] is not None
    assert updated["changes"] == {"status": {"from": "open", "to": "closed"}}
    assert tickets_rpc.delete_ticket("TKT-00003", "agent-9", client_id="acme") is None
    assert tickets_rpc.list_tickets({"client_id": "acme"})["total"] == 2
    history = tickets_rpc.get_history("TKT-00002", client_id="acme")
    assert [(h["action"], h["field"]) for h in history] == [("created", None), ("updated", "status")]


def test_every_write_publishes_exactly_its_event(tickets_rpc, events):
    created = tickets_rpc.create_ticket(NEW)
    tickets_rpc.update_ticket(created["id"], {"priority": "urgent", "assigned_to": "ann"}, "agent-1")
    tickets_rpc.update_ticket(created["id"], {"priority": "urgent"}, "agent-1")  # no change: no event
    tickets_rpc.delete_ticket(created["id"], "agent-2")
    events.wait_for(lambda got: len(got) >= 3, message="three events")
    assert [e["event_type"] for e in events.events] == ["ticket.created", "ticket.updated", "ticket.deleted"]
    created_event, updated_event, deleted_event = events.events
    assert created_event["data"]["ticket"] == created
    assert updated_event["data"]["changes"] == {
        "priority": {"from": "medium", "to": "urgent"},
        "assigned_to": {"from": None, "to": "ann"},
    }
    assert updated_event["data"]["actor"] == "agent-1"
    assert updated_event["data"]["ticket"]["priority"] == "urgent"
    assert deleted_event["data"]["actor"] == "agent-2"
    assert len({e["event_id"] for e in events.events}) == 3
    assert all(e["version"] == 1 and e["occurred_at"] for e in events.events)
    # Nothing more arrives: the no-op update published nothing.
    with pytest.raises(AssertionError):
        events.wait_for(lambda got: len(got) > 3, timeout=0.5)


def test_events_committed_but_never_published_are_relayed(tickets_service, session_factory, events):
    """A crash between commit and publish: the outbox row stays, and the relay timer sends it."""
    with session_factory() as session:
        operations.create_ticket(session, NEW)
        session.commit()
    events.wait_for(lambda got: len(got) == 1, timeout=5, message="the relayed event")
    assert events.events[0]["data"]["ticket"]["ticket_number"] == "TKT-00001"
    with session_factory() as session:
        wait_for(lambda: session.scalar(sa.select(OutboxEvent.published_at)) is not None, timeout=5)


def test_outbox_backlog_is_reported(tickets_rpc, session_factory):
    assert tickets_rpc.outbox_backlog() == 0
    tickets_rpc.create_ticket(NEW)
    assert tickets_rpc.outbox_backlog() == 0


def test_rpc_replies_are_transient(amqp_uri, tickets_service, events):
    """Replies go to a caller that is waiting (shared.platform.runtime.ReplyPublisher); events still go out."""
    from kombu import Connection, Exchange, Producer, Queue

    rpc_exchange = Exchange("nameko-rpc", type="topic", durable=True)
    name = f"test-replies-{uuid.uuid4().hex}"
    # nameko replies through its RPC exchange with the reply_to as routing key.
    replies = Queue(name, exchange=rpc_exchange, routing_key=name, exclusive=True, auto_delete=True)
    received = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        replies(channel).declare()
        Producer(channel).publish(
            {"args": [NEW], "kwargs": {}}, exchange=rpc_exchange,
            routing_key="tickets.create_ticket", reply_to=replies.name, correlation_id="c-1", serializer="json",
        )
        with connection.Consumer(replies, callbacks=[lambda body, message: received.append(message)], accept=["json"]):
            connection.drain_events(timeout=10)
    reply = received[0]
    assert reply.payload["result"]["ticket_number"] == "TKT-00001"
    assert reply.properties["delivery_mode"] == 1
    events.wait_for(lambda got: len(got) == 1)
    assert events.events[0]["data"]["ticket"]["ticket_number"] == "TKT-00001"


def test_concurrent_creates_are_marked_published_in_batches_and_sent_once(amqp_uri, tickets_service, session_factory,
                                                                         events):
    """The fast path's rows are marked by PublishedMarks' batches (shared/platform/outbox.py): every row
    marked soon after, and the relay, which waits FAST_PATH_GRACE, publishes none of them again."""
    import eventlet

    from shared.platform.outbox import FAST_PATH_GRACE
    from shared.testing import rpc_proxy

    def create(n):
        with rpc_proxy(amqp_uri) as rpc:
            return rpc.tickets.create_ticket({**NEW, "title": f"Ticket {n}"})["ticket_number"]

    numbers = list(eventlet.GreenPool(10).imap(create, range(20)))
    with session_factory() as session:
        wait_for(lambda: session.scalar(sa.select(sa.func.count()).where(OutboxEvent.published_at.is_(None))) == 0,
                 timeout=5, message="every row marked published")
    events.wait_for(lambda got: len(got) >= 20, message="20 events")
    # Proving an absence: past the relay's grace and a tick of it, whatever it sent again has arrived.
    deadline = time.monotonic() + FAST_PATH_GRACE.total_seconds() + 2
    while time.monotonic() < deadline:
        try:
            events.connection.drain_events(timeout=0.5)
        except socket.timeout:
            pass
    assert sorted(e["data"]["ticket"]["ticket_number"] for e in events.events) == sorted(numbers)
