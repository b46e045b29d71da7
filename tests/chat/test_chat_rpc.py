"""The chat service through its real RPC entrypoints and real events (RabbitMQ, PostgreSQL)."""
import pytest
import sqlalchemy as sa

from services.chat import operations
from services.chat.models import OutboxEvent
from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.testing import wait_for

KIRA = {"client_id": "acme", "customer_name": "Kira", "customer_email": "kira@example.com"}
ANN = {"author_name": "Ann", "author_id": "agent-ann"}


def test_a_customer_and_an_agent_talk_through_rpc(chat_rpc):
    started = chat_rpc.start_conversation({**KIRA, "message": "My printer is on fire"})
    token, conversation_id = started["token"], started["conversation"]["id"]
    assert len(token) >= 43 and started["conversation"]["status"] == "open"
    assert [m["body"] for m in started["messages"]] == ["My printer is on fire"]
    assert (started["has_older"], started["has_newer"]) == (False, False)

    inbox = chat_rpc.list_conversations({"client_id": "acme", "status": "open"})
    assert [item["id"] for item in inbox["items"]] == [conversation_id] and inbox["items"][0]["agent_unread"] == 1

    reply = chat_rpc.post_message(conversation_id, {"body": "Which model?", **ANN}, client_id="acme")
    assert (reply["author"], reply["author_name"], reply["author_id"]) == ("agent", "Ann", "agent-ann")
    assert reply["created_at"].endswith("+00:00")

    # The customer polls with the id of the last message seen, and sees the reply.
    first_id = started["messages"][-1]["id"]
    polled = chat_rpc.resume_conversation(token, after=first_id)
    assert [m["body"] for m in polled["messages"]] == ["Which model?"]
    assert "author_id" not in polled["messages"][0] and polled["conversation"]["customer_unread"] == 1
    answer = chat_rpc.post_message_by_token(token, "X-100")
    assert answer["author"] == "customer" and answer["author_name"] == "Kira"
    assert chat_rpc.resume_conversation(token)["conversation"]["customer_unread"] == 0

    thread = chat_rpc.get_conversation(conversation_id, client_id="acme", limit=2)
    assert [m["body"] for m in thread["messages"]] == ["Which model?", "X-100"] and thread["has_older"] is True
    assert thread["conversation"]["agent_unread"] == 1
    assert chat_rpc.mark_read(conversation_id, answer["id"], client_id="acme")["agent_unread"] == 0

    assigned = chat_rpc.assign(conversation_id, "agent-ann", actor="agent-ann", client_id="acme")
    assert assigned["assigned_to"] == "agent-ann"
    closed = chat_rpc.close_conversation(conversation_id, actor="agent-ann", client_id="acme")
    assert closed["status"] == "closed" and closed["closed_by"] == "agent-ann"
    assert chat_rpc.resume_conversation(token)["messages"][-1]["body"] == "Conversation closed"


def test_errors_cross_rpc_as_typed_exceptions(chat_rpc):
    with pytest.raises(ValidationError) as error:
        chat_rpc.start_conversation({**KIRA, "customer_email": "not-an-email", "message": "x" * 5001})
    assert error.value.errors == {
        "customer_email": ["Not a valid email address."], "message": ["Longer than 5000 characters."],
    }
    started = chat_rpc.start_conversation(KIRA)
    conversation_id, token = started["conversation"]["id"], started["token"]
    with pytest.raises(ValidationError) as error:
        chat_rpc.post_message(conversation_id, {"body": "x" * 5001, **ANN})
    assert error.value.errors == {"body": ["Longer than 5000 characters."]}
    with pytest.raises(NotFound):
        chat_rpc.get_conversation(conversation_id, client_id="globex")
    with pytest.raises(NotFound):
        chat_rpc.get_conversation("00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        chat_rpc.resume_conversation("x" * 43)
    chat_rpc.close_conversation_by_token(token)
    with pytest.raises(Conflict) as error:
        chat_rpc.post_message_by_token(token, "are you there?")
    assert "closed" in str(error.value)
    with pytest.raises(Conflict):
        chat_rpc.post_message(conversation_id, {"body": "hello?", **ANN})


def test_every_write_publishes_exactly_its_events(chat_events, chat_rpc):
    started = chat_rpc.start_conversation({**KIRA, "message": "hi"})
    conversation_id, token = started["conversation"]["id"], started["token"]
    chat_rpc.post_message_by_token(token, "anyone?")
    reply = chat_rpc.post_message(conversation_id, {"body": "Here", **ANN}, client_id="acme")
    chat_rpc.assign(conversation_id, "agent-ann", actor="lead", client_id="acme")
    chat_rpc.assign(conversation_id, "agent-ann", actor="lead", client_id="acme")  # no change: no event
    chat_rpc.mark_read(conversation_id, reply["id"])  # read markers are not events
    chat_rpc.close_conversation(conversation_id, actor="agent-ann")
    chat_rpc.close_conversation(conversation_id, actor="agent-ann")  # already closed: no event
    chat_events.wait_for(lambda got: len(got) >= 7, message="seven events")
    assert [e["event_type"] for e in chat_events.events] == [
        "chat.conversation_started", "chat.message_posted", "chat.message_posted", "chat.message_posted",
        "chat.conversation_assigned", "chat.message_posted", "chat.conversation_closed",
    ]
    assert len({e["event_id"] for e in chat_events.events}) == 7
    assert all(set(e) == {"event_id", "event_type", "occurred_at", "version", "data"} for e in chat_events.events)
    assert all(e["version"] == 1 and e["occurred_at"].endswith("+00:00") for e in chat_events.events)
    started_event, first, second, third, assigned, closing_line, closed = chat_events.events
    assert started_event["data"]["conversation"]["id"] == conversation_id
    assert "token" not in str(started_event["data"]) and "token_hash" not in started_event["data"]["conversation"]
    assert [e["data"]["message"]["body"] for e in (first, second, third, closing_line)] == [
        "hi", "anyone?", "Here", "Conversation closed",
    ]
    assert third["data"]["message"] == reply and third["data"]["actor"] == "agent-ann"
    assert assigned["data"]["conversation"]["assigned_to"] == "agent-ann" and assigned["data"]["actor"] == "lead"
    assert closed["data"]["conversation"]["status"] == "closed" and closed["data"]["actor"] == "agent-ann"
    # Nothing more arrives: the no-op writes published nothing.
    with pytest.raises(AssertionError):
        chat_events.wait_for(lambda got: len(got) > 7, timeout=0.5)


def test_events_committed_but_never_published_are_relayed(chat_service, chat_sessions, chat_events, chat_rpc):
    """A crash between commit and publish: the outbox rows stay, and the relay timer sends them."""
    with chat_sessions() as session:
        operations.start_conversation(session, {**KIRA, "message": "lost?"})
        session.commit()
    chat_events.wait_for(lambda got: len(got) == 2, timeout=6, message="the relayed events")
    assert [e["event_type"] for e in chat_events.events] == ["chat.conversation_started", "chat.message_posted"]
    with chat_sessions() as session:
        wait_for(
            lambda: session.scalar(sa.select(sa.func.count()).where(OutboxEvent.published_at.is_(None))) == 0,
            timeout=5, message="rows marked published",
        )
    assert chat_rpc.outbox_backlog() == 0


def test_ticket_draft_over_rpc_is_tenant_scoped(chat_rpc):
    started = chat_rpc.start_conversation({**KIRA, "message": "Printer on fire"})
    draft = chat_rpc.ticket_draft(started["conversation"]["id"], client_id="acme")
    assert draft["title"] == "Support Issue from Kira" and draft["description"] == "Kira: Printer on fire"
    with pytest.raises(NotFound):
        chat_rpc.ticket_draft(started["conversation"]["id"], client_id="globex")
