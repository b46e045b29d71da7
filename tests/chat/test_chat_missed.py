"""Issue 11, point 5: a chat its customer leaves before any agent answered is "missed": it stays in
the agents' "Missed" list until one of them handles it, and chat.conversation_missed carries the
transcript (and the page to come back to) for the customer's e-mail."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.chat import operations
from services.chat.models import OutboxEvent
from shared.contracts.enums import CHAT_CONVERSATION_MISSED
from tests.chat.test_chat_operations import T0, event_types, post, start

PAGE = "http://127.0.0.1:8000/chat/acme"


@pytest.fixture
def session(chat_sessions):
    with chat_sessions() as session:
        yield session


def missed_list(session):
    return [item["customer_name"] for item in operations.list_conversations(
        session, {"client_id": "acme", "missed": True})["items"]]


def test_a_chat_left_unanswered_is_missed_with_its_transcript_until_handled(session):
    token, conversation = start(session, message="Is anyone there? https://shop.example/order/7", page_url=PAGE)
    post(session, conversation, "I'd like a refund", author="customer")
    left, events = operations.close_conversation_by_token(session, token, now=T0 + timedelta(minutes=5))
    session.commit()

    assert left.missed_at == T0 + timedelta(minutes=5) and left.handled_at is None
    assert event_types(session)[-1] == CHAT_CONVERSATION_MISSED
    missed = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == CHAT_CONVERSATION_MISSED)).one()
    data = missed.payload["data"]
    assert data["page_url"] == PAGE and data["conversation"]["customer_email"] == "kira@example.com"
    assert [m["body"] for m in data["messages"]] == [
        "Is anyone there? https://shop.example/order/7", "I'd like a refund", "Conversation closed"]
    assert all("author_id" not in m for m in data["messages"])  # the customer's view of the thread
    assert missed_list(session) == ["Kira"]

    view = operations.agent_view(session, operations.mark_handled(session, conversation.id, "ann@acme.example"))
    session.commit()
    assert view["handled_by"] == "ann@acme.example" and view["missed_at"] is not None
    assert missed_list(session) == []
    # Handling twice changes nothing.
    again = operations.mark_handled(session, conversation.id, "bob@acme.example")
    assert again.handled_by == "ann@acme.example"


def test_an_answered_chat_or_one_an_agent_closed_is_not_missed(session):
    token, answered = start(session, message="hi", customer_name="Answered")
    post(session, answered, "Hello, Ann here")
    operations.close_conversation_by_token(session, token)
    _, closed_by_agent = start(session, message="hi", customer_name="Closed by agent")
    operations.close_conversation(session, closed_by_agent.id, actor="ann@acme.example")
    session.commit()
    assert answered.missed_at is None and closed_by_agent.missed_at is None
    assert CHAT_CONVERSATION_MISSED not in event_types(session)
    assert missed_list(session) == []


def test_a_chat_nobody_answered_and_quiet_for_a_while_is_closed_as_missed(session):
    _, quiet = start(session, now=T0, message="hello?", customer_name="Quiet", page_url=PAGE)
    _, recent = start(session, now=T0 + timedelta(minutes=25), message="hi", customer_name="Recent")
    _, answered = start(session, now=T0, message="hi", customer_name="Answered")
    post(session, answered, "Ann here", now=T0 + timedelta(minutes=1))

    events = operations.close_unanswered(session, 1800, now=T0 + timedelta(minutes=31))
    session.commit()
    assert [e.event_type for e in events] == ["chat.message_posted", "chat.conversation_closed", CHAT_CONVERSATION_MISSED]
    assert (quiet.status, quiet.closed_by, quiet.missed_at) == ("closed", "system", T0 + timedelta(minutes=31))
    assert recent.status == "open" and answered.status == "open" and answered.missed_at is None
    assert missed_list(session) == ["Quiet"]
    # Nothing more to close: closing is done once.
    assert operations.close_unanswered(session, 1800, now=T0 + timedelta(minutes=40)) == []
