"""Tickets from chat: the real tickets service publishes ticket.created with a conversation id and
the chat service links it, exactly once, within the same client (RabbitMQ, PostgreSQL)."""
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from services.chat import operations
from services.chat.models import Message, TicketLink
from services.chat.service import ChatService
from shared.contracts.events import make_envelope
from shared.platform.queues import event_queues
from shared.testing import (
    ROOT,
    EventCollector,
    ServiceProcess,
    allow_connections,
    database_away,
    dead_letters,
    wait_for,
)

KIRA = {"client_id": "acme", "customer_name": "Kira", "customer_email": "kira@example.com"}
TICKET_FIELDS = {"priority": "urgent", "category": "technical", "created_by": "agent-ann"}


@pytest.fixture
def ticket_events(amqp_uri):
    with EventCollector(amqp_uri, "tickets") as collector:
        yield collector


@pytest.fixture
def publish(amqp_uri):
    """Publish on the tickets exchange as the tickets service (or its relay, again) would."""
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    return lambda envelope: dispatch("tickets", envelope["event_type"], envelope)


class Handled:
    """Waits for `count` runs of on_ticket_created and keeps what each returned or raised."""

    def __init__(self, container, count=1, until=None):
        self.results, self.errors = [], []
        self.until = until or (lambda handled: len(handled.results) + len(handled.errors) >= count)
        self.waiter = entrypoint_waiter(container, "on_ticket_created", timeout=10, callback=self._seen)

    def _seen(self, worker_ctx, result, exc_info):
        (self.errors if exc_info else self.results).append(exc_info[1] if exc_info else result)
        return self.until(self)

    def __enter__(self):
        self.waiter.__enter__()
        return self

    def __exit__(self, *exc):
        return self.waiter.__exit__(*exc)


def links_and_system_lines(chat_sessions, conversation_id):
    with chat_sessions() as session:
        links = list(session.scalars(sa.select(TicketLink.ticket_number).where(TicketLink.conversation_id == conversation_id)))
        lines = list(session.scalars(
            sa.select(Message.body).where(Message.conversation_id == conversation_id, Message.author == "system")
        ))
    return links, lines


def ticket_created(conversation_id, client_id="acme", ticket_number="TKT-00042"):
    ticket = {
        "id": str(uuid.uuid4()), "ticket_number": ticket_number, "client_id": client_id,
        "conversation_id": str(conversation_id), "title": "From chat", "customer_email": "kira@example.com",
    }
    return make_envelope("ticket.created", {"ticket": ticket, "actor": "agent-ann"})


def test_a_ticket_created_from_a_chat_is_linked_with_a_system_message(chat_service, chat_rpc, tickets_rpc, chat_events):
    started = chat_rpc.start_conversation({**KIRA, "message": "My printer is on fire"})
    conversation_id = started["conversation"]["id"]
    draft = chat_rpc.ticket_draft(conversation_id, client_id="acme")
    with Handled(chat_service) as handled:
        ticket = tickets_rpc.create_ticket({**draft, **TICKET_FIELDS})
    assert handled.results == ["linked"]
    assert ticket["conversation_id"] == conversation_id and ticket["customer_name"] == "Kira"

    thread = chat_rpc.get_conversation(conversation_id, client_id="acme")
    assert thread["conversation"]["ticket_numbers"] == [ticket["ticket_number"]] == ["TKT-00001"]
    line = thread["messages"][-1]
    assert (line["author"], line["author_name"], line["body"]) == ("system", "Deskline", "Ticket TKT-00001 created")
    # The customer sees it too, as new.
    customer = chat_rpc.resume_conversation(started["token"])
    assert customer["messages"][-1]["body"] == "Ticket TKT-00001 created"
    assert customer["conversation"]["ticket_numbers"] == ["TKT-00001"] and customer["conversation"]["customer_unread"] == 1

    chat_events.wait_for(lambda got: len(got) >= 3, message="the system message's event")
    posted = chat_events.of_type("chat.message_posted")
    assert [e["data"]["message"]["body"] for e in posted] == ["My printer is on fire", "Ticket TKT-00001 created"]
    assert posted[-1]["data"]["conversation"]["ticket_numbers"] == ["TKT-00001"]


def test_a_redelivered_ticket_created_links_once(chat_service, chat_rpc, tickets_rpc, ticket_events, chat_events,
                                                 chat_sessions, publish):
    conversation_id = chat_rpc.start_conversation(KIRA)["conversation"]["id"]
    with Handled(chat_service):
        tickets_rpc.create_ticket({**chat_rpc.ticket_draft(conversation_id), **TICKET_FIELDS})
    (envelope,) = ticket_events.wait_for(lambda got: len(got) == 1, message="the ticket.created envelope")
    # The broker redelivers it, twice at once (two instances could take it together).
    with Handled(chat_service, count=2) as handled:
        publish(envelope)
        publish(envelope)
    assert handled.results == ["duplicate", "duplicate"] and handled.errors == []
    assert links_and_system_lines(chat_sessions, conversation_id) == (["TKT-00001"], ["Ticket TKT-00001 created"])
    assert chat_rpc.get_conversation(conversation_id)["conversation"]["ticket_numbers"] == ["TKT-00001"]
    chat_events.wait_for(lambda got: len(got) >= 2, message="started and the one system message")
    with pytest.raises(AssertionError):
        chat_events.wait_for(lambda got: len(got) > 2, timeout=0.5)


def test_a_first_delivery_arriving_twice_at_once_links_once(chat_service, chat_rpc, chat_sessions, publish):
    conversation_id = chat_rpc.start_conversation(KIRA)["conversation"]["id"]
    envelope = ticket_created(conversation_id)
    with Handled(chat_service, count=2) as handled:
        publish(envelope)
        publish(envelope)
    assert sorted(handled.results) == ["duplicate", "linked"]
    assert links_and_system_lines(chat_sessions, conversation_id) == (["TKT-00042"], ["Ticket TKT-00042 created"])


def test_tickets_naming_no_conversation_of_this_client_link_nothing(chat_service, chat_rpc, tickets_rpc,
                                                                      chat_sessions, publish, amqp_uri):
    conversation_id = chat_rpc.start_conversation(KIRA)["conversation"]["id"]
    with Handled(chat_service) as other_client:
        tickets_rpc.create_ticket({
            "title": "Not yours", "description": "x", "client_id": "globex", "conversation_id": conversation_id,
        })
    with Handled(chat_service) as unknown:
        tickets_rpc.create_ticket({
            "title": "Gone", "description": "x", "client_id": "acme", "conversation_id": str(uuid.uuid4()),
        })
    with Handled(chat_service) as unrelated:
        tickets_rpc.create_ticket({"title": "By phone", "description": "x", "client_id": "acme"})
    with Handled(chat_service) as malformed:
        publish({"event_type": "ticket.created", "event_id": "nope", "data": {}})
    assert other_client.results == ["other_client"] and unknown.results == ["unknown_conversation"]
    assert unrelated.results == ["unrelated"] and malformed.results == ["dead-lettered"]
    assert [parked["payload"]["event_id"] for parked in dead_letters(amqp_uri)] == ["nope"]
    assert links_and_system_lines(chat_sessions, conversation_id) == ([], [])
    assert chat_rpc.get_conversation(conversation_id)["conversation"]["ticket_numbers"] == []


def test_a_link_that_cannot_be_recorded_while_the_database_is_away_is_retried_not_lost(
        chat_service, chat_rpc, chat_engine, chat_db_url, chat_sessions, publish):
    conversation_id = chat_rpc.start_conversation(KIRA)["conversation"]["id"]
    with database_away(chat_db_url):
        with Handled(chat_service, until=lambda handled: "linked" in handled.results) as handled:
            publish(ticket_created(conversation_id))
            wait_for(lambda: len(handled.errors) >= 2, timeout=10, message="failed attempts handed back")
            allow_connections(chat_db_url, True)
    chat_engine.dispose()  # its connections were cut too
    assert all(isinstance(error, sa.exc.OperationalError) for error in handled.errors)
    assert handled.results.count("linked") == 1
    assert links_and_system_lines(chat_sessions, conversation_id) == (["TKT-00042"], ["Ticket TKT-00042 created"])


def test_a_link_the_database_refuses_for_good_goes_to_the_dead_letter_queue(
        chat_service, chat_rpc, chat_engine, chat_sessions, publish, amqp_uri):
    conversation_id = chat_rpc.start_conversation(KIRA)["conversation"]["id"]
    with chat_engine.begin() as conn:  # a schema the code does not expect: retrying cannot cure it
        conn.execute(sa.text("ALTER TABLE ticket_links RENAME TO ticket_links_away"))
    try:
        with Handled(chat_service) as handled:
            publish(ticket_created(conversation_id))
    finally:
        with chat_engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE IF EXISTS ticket_links_away RENAME TO ticket_links"))
    assert handled.results == ["dead-lettered"] and handled.errors == []
    (parked,) = dead_letters(amqp_uri)
    assert parked["service"] == "chat" and "ticket_links" in parked["error"]
    assert parked["payload"]["data"]["ticket"]["ticket_number"] == "TKT-00042"
    assert links_and_system_lines(chat_sessions, conversation_id) == ([], [])


@pytest.mark.slow
def test_ticket_created_waits_in_the_queue_declared_by_migrate(amqp_uri, chat_config, chat_db, chat_sessions,
                                                                 tickets_rpc):
    """Deployed in order (migrate, then run), no ticket.created is lost while chat has never run."""
    env = {"PYTHONPATH": str(ROOT), "AMQP_URI": amqp_uri, "CHAT_DATABASE_URL": chat_db, "PATH": "/usr/bin:/bin"}
    migrated = subprocess.run(
        [sys.executable, "-m", "services.chat", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert migrated.returncode == 0, migrated.stderr
    (queue,) = event_queues(ChatService, chat_config)
    assert queue.name in migrated.stderr and queue.durable
    with chat_sessions() as session:
        _, conversation, _ = operations.start_conversation(session, KIRA)
        session.commit()
    ticket = tickets_rpc.create_ticket({
        "title": "Before chat ran", "description": "x", "client_id": "acme", "conversation_id": str(conversation.id),
    })
    with ServiceProcess("chat", {"CHAT_DATABASE_URL": chat_db}, amqp_uri):
        wait_for(
            lambda: links_and_system_lines(chat_sessions, conversation.id)[0] == [ticket["ticket_number"]],
            timeout=10, message="the link made from the queued event",
        )
    assert links_and_system_lines(chat_sessions, conversation.id)[1] == [f"Ticket {ticket['ticket_number']} created"]
