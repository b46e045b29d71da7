"""The chat operations over a real PostgreSQL session (no broker): validation, paging, ordering,
unread counts, tenancy and ticket links."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.chat import domain, operations
from services.chat.models import Conversation, Message, OutboxEvent, TicketLink
from shared.contracts.exceptions import Conflict, NotFound, ValidationError

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
KIRA = {"client_id": "acme", "customer_name": "Kira", "customer_email": "kira@example.com"}
ANN = {"author_name": "Ann", "author_id": "agent-ann"}


@pytest.fixture
def session(chat_sessions):
    with chat_sessions() as session:
        yield session


def start(session, now=T0, **data):
    token, conversation, _ = operations.start_conversation(session, {**KIRA, **data}, now=now)
    session.commit()
    return token, conversation


def post(session, conversation, body, now=None, **data):
    message, _ = operations.post_message(session, conversation.id, {"body": body, **ANN, **data}, now=now)
    session.commit()
    return message


def event_types(session):
    return list(session.scalars(sa.select(OutboxEvent.event_type).order_by(OutboxEvent.id)))


def errors(call, *args, **kwargs):
    with pytest.raises(ValidationError) as error:
        call(*args, **kwargs)
    return error.value.errors


def test_start_validates_every_field_by_name(session):
    assert errors(operations.start_conversation, session, {}) == {
        "client_id": ["Missing data for required field."],
        "customer_name": ["Missing data for required field."],
        "customer_email": ["Missing data for required field."],
    }
    assert errors(
        operations.start_conversation, session,
        {**KIRA, "customer_name": "  ", "customer_email": "kira@", "message": "x" * 5001, "colour": "red"},
    ) == {
        "customer_name": ["Must not be blank."],
        "customer_email": ["Not a valid email address."],
        "message": ["Longer than 5000 characters."],
        "colour": ["Unknown field."],
    }
    assert errors(operations.start_conversation, session, "not a dict") == {"_schema": ["Invalid input type."]}
    assert session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 0


def test_start_keeps_only_the_tokens_hash_and_records_its_events(session):
    token, conversation = start(session, message="  Hello, my printer is on fire  ")
    stored = session.scalars(sa.select(Conversation)).one()
    assert stored.token_hash == domain.hash_token(token) and token not in stored.token_hash
    assert operations.get_by_token(session, token).id == conversation.id
    assert (stored.status, stored.assigned_to, stored.ticket_numbers) == ("open", None, [])
    body = session.scalars(sa.select(Message.body)).one()
    assert body == "Hello, my printer is on fire"
    assert event_types(session) == ["chat.conversation_started", "chat.message_posted"]


def test_a_first_message_left_blank_is_no_message(session):
    start(session, message="   ")
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    assert event_types(session) == ["chat.conversation_started"]


def test_message_bodies_are_checked_and_stored_as_plain_text(session):
    _, conversation = start(session)
    for body, reason in [
        ("", "Must not be blank."), ("   \n ", "Must not be blank."), ("x" * 5001, "Longer than 5000 characters."),
        ("a\x00b", "Must not contain NUL characters."), (42, "Not a valid string."),
        (None, "Field may not be null."),
    ]:
        assert errors(operations.post_message, session, conversation.id, {"body": body, **ANN}) == {"body": [reason]}
    html = "<script>alert('hi')</script> & <b>bold</b>"
    assert post(session, conversation, html)["body"] == html
    assert post(session, conversation, "y" * 5000)["body"] == "y" * 5000


def test_an_agents_message_needs_a_name_and_system_is_not_a_posting_author(session):
    _, conversation = start(session)
    assert errors(operations.post_message, session, conversation.id, {"body": "hi"}) == {
        "author_name": ["Required for an agent's message."],
    }
    assert errors(operations.post_message, session, conversation.id, {"body": "hi", "author": "system"}) == {
        "author": ["Must be one of: agent, customer."],
    }
    # A customer's message carries the conversation's name, whatever the caller says.
    message = post(session, conversation, "hi", author="customer", author_name="Mallory", author_id=None)
    assert (message["author"], message["author_name"]) == ("customer", "Kira")


def test_unknown_malformed_and_other_clients_conversations_are_not_found(session):
    token, conversation = start(session)
    for reference in (uuid.uuid4(), "nope", None, 12):
        with pytest.raises(NotFound):
            operations.post_message(session, reference, {"body": "hi", **ANN})
    with pytest.raises(NotFound):
        operations.post_message(session, conversation.id, {"body": "hi", **ANN}, client_id="globex")
    with pytest.raises(NotFound):
        operations.close_conversation(session, conversation.id, client_id="globex")
    with pytest.raises(NotFound):
        operations.assign(session, conversation.id, "ann", client_id="globex")
    for bad_token in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", None, domain.hash_token(token)):
        with pytest.raises(NotFound) as error:
            operations.post_message_by_token(session, bad_token, "hi")
        assert token not in str(error.value)


def test_a_token_opens_its_conversation_only_on_its_own_clients_page(session):
    token, conversation = start(session)
    calls = (
        lambda client: operations.get_by_token(session, token, client_id=client),
        lambda client: operations.post_message_by_token(session, token, "hi", client_id=client),
        lambda client: operations.mark_read_by_token(session, token, 0, client_id=client),
        lambda client: operations.close_conversation_by_token(session, token, client_id=client),
    )
    for call in calls:
        with pytest.raises(NotFound):
            call("globex")
    assert operations.get_by_token(session, token, client_id="acme").id == conversation.id
    message, _ = operations.post_message_by_token(session, token, "hi", client_id="acme")
    assert message["author"] == "customer"


def test_a_closed_conversation_takes_no_more_messages(session):
    token, conversation = start(session)
    closed, events = operations.close_conversation(session, conversation.id, actor="agent-ann", now=T0)
    session.commit()
    assert (closed.status, closed.closed_by, closed.closed_at) == ("closed", "agent-ann", T0)
    assert [event.event_type for event in events] == ["chat.message_posted", "chat.conversation_closed"]
    with pytest.raises(Conflict, match="closed"):
        operations.post_message(session, conversation.id, {"body": "still there?", **ANN})
    session.rollback()
    with pytest.raises(Conflict, match="closed"):
        operations.post_message_by_token(session, token, "hello?")
    session.rollback()
    with pytest.raises(Conflict):
        operations.assign(session, conversation.id, "ann")
    session.rollback()
    bodies = list(session.scalars(sa.select(Message.body).order_by(Message.id)))
    assert bodies == [domain.CLOSED_TEXT]
    # Closing again is not an error and records nothing.
    _, again = operations.close_conversation_by_token(session, token)
    assert again == [] and event_types(session).count("chat.conversation_closed") == 1


def test_list_is_newest_activity_first_paged_and_per_client(session):
    chats = {}
    for index, name in enumerate(["Ann", "Bob", "Cid", "Dee"]):
        _, chats[name] = start(session, now=T0 + timedelta(minutes=index), customer_name=name)
    start(session, now=T0 + timedelta(hours=1), client_id="globex")
    post(session, chats["Ann"], "back again", now=T0 + timedelta(minutes=10))  # newest activity now
    page = operations.list_conversations(session, {"client_id": "acme", "per_page": 3})
    assert [item["customer_name"] for item in page["items"]] == ["Ann", "Dee", "Cid"]
    assert (page["total"], page["page"], page["per_page"]) == (4, 1, 3)
    page2 = operations.list_conversations(session, {"client_id": "acme", "per_page": 3, "page": 2})
    assert [item["customer_name"] for item in page2["items"]] == ["Bob"]
    assert page["items"][0]["last_message"]["preview"] == "back again"
    assert page["items"][1]["last_message"] is None
    assert page["items"][0]["last_message_at"] == (T0 + timedelta(minutes=10)).isoformat()
    assert "token_hash" not in page["items"][0]


def test_list_filters_by_status_and_assignee(session):
    _, a = start(session, now=T0, customer_name="A")
    _, b = start(session, now=T0 + timedelta(minutes=1), customer_name="B")
    _, c = start(session, now=T0 + timedelta(minutes=2), customer_name="C")
    operations.assign(session, a.id, "ann")
    operations.assign(session, b.id, "bob")
    operations.close_conversation(session, b.id, now=T0 + timedelta(minutes=5))
    session.commit()

    def names(**filters):
        return [item["customer_name"] for item in operations.list_conversations(session, {"client_id": "acme", **filters})["items"]]

    assert names(status="open") == ["C", "A"]
    assert names(status="closed") == ["B"]
    assert names(assigned_to="ann") == ["A"]
    assert names(unassigned=True) == ["C"]
    assert names(status="open", assigned_to="bob") == []
    assert errors(operations.list_conversations, session, {"client_id": "acme", "status": "gone", "per_page": 101}) == {
        "status": ["Must be one of: open, closed."], "per_page": ["Must be greater than or equal to 1 and less than or equal to 100."],
    }
    # Both: the agent's own and nobody's, as the document says.
    assert names(assigned_to="ann", unassigned=True) == ["C", "A"]
    assert "client_id" in errors(operations.list_conversations, session, {})


def test_a_thread_is_paged_backwards_and_polled_forwards(session):
    _, conversation = start(session)
    ids = [post(session, conversation, f"m{n}")["id"] for n in range(7)]

    def page(**kwargs):
        result = operations.thread(session, conversation, kwargs, "agent")
        return [m["body"] for m in result["messages"]], result["has_older"], result["has_newer"]

    assert page(limit=3) == (["m4", "m5", "m6"], True, False)
    assert page(limit=3, before=ids[4]) == (["m1", "m2", "m3"], True, True)
    assert page(limit=3, before=ids[1]) == (["m0"], False, True)
    assert page(limit=3, after=ids[1]) == (["m2", "m3", "m4"], True, True)
    assert page(after=ids[6]) == ([], True, False)
    assert page(after=0) == ([f"m{n}" for n in range(7)], False, False)
    # Both: the messages between them, oldest first (what the document promises).
    assert page(limit=2, after=ids[1], before=ids[5]) == (["m2", "m3"], True, True)
    assert page(after=ids[1], before=ids[4]) == (["m2", "m3"], True, True)
    assert page(after=ids[5], before=ids[6]) == ([], True, True)
    assert set(errors(operations.thread, session, conversation, {"limit": 0, "after": -1}, "agent")) == {"limit", "after"}


def test_customer_view_hides_the_tenant_assignee_and_agent_ids(session):
    token, conversation = start(session, message="hi")
    operations.assign(session, conversation.id, "agent-ann")
    post(session, conversation, "hello Kira")
    session.commit()
    customer = operations.thread(session, operations.get_by_token(session, token), {}, "customer")
    assert set(customer["conversation"]) == {
        "id", "customer_name", "customer_email", "status", "created_at", "last_message_at", "closed_at",
        "ticket_numbers", "customer_read_up_to", "customer_unread", "last_message",
    }
    assert all("author_id" not in message for message in customer["messages"])
    agent = operations.thread(session, conversation, {}, "agent")
    assert agent["conversation"]["assigned_to"] == "agent-ann" and agent["messages"][1]["author_id"] == "agent-ann"


def test_unread_counts_follow_each_sides_read_marker(session):
    token, conversation = start(session, message="one")
    first = session.scalar(sa.select(Message.id))
    operations.post_message_by_token(session, token, "two")
    session.commit()

    def unread():
        return operations.agent_view(session, conversation)["agent_unread"], operations.customer_view(session, conversation)["customer_unread"]

    assert unread() == (2, 0)
    operations.mark_read(session, conversation.id, first)
    session.commit()
    assert unread() == (1, 0)
    operations.mark_read(session, conversation.id, 0)  # never backwards
    assert unread() == (1, 0)
    reply = post(session, conversation, "three")  # replying means having read the thread
    assert unread() == (0, 1)
    operations.mark_read_by_token(session, token, reply["id"])
    session.commit()
    assert unread() == (0, 0)
    assert errors(operations.mark_read, session, conversation.id, "soon") == {"up_to": ["Not a valid integer."]}
    assert "chat.message_posted" in event_types(session) and "read" not in " ".join(event_types(session))


def test_assign_records_an_event_only_when_the_assignee_changes(session):
    _, conversation = start(session)
    conversation, events = operations.assign(session, conversation.id, "ann", actor="lead")
    assert conversation.assigned_to == "ann"
    assert events[0].payload["data"]["previous"] is None and events[0].payload["data"]["actor"] == "lead"
    assert operations.assign(session, conversation.id, "ann")[1] == []
    conversation, events = operations.assign(session, conversation.id, None)
    assert conversation.assigned_to is None and events[0].payload["data"]["previous"] == "ann"


def link(conversation, ticket_number="TKT-00001", client_id="acme", ticket_id=None):
    return {
        "event_id": uuid.uuid4(), "conversation_id": conversation.id, "client_id": client_id,
        "ticket_id": ticket_id or uuid.uuid4(), "ticket_number": ticket_number,
    }


def test_a_ticket_is_linked_once_with_one_system_message(session):
    _, conversation = start(session)
    first = link(conversation)
    outcome, events = operations.link_ticket(session, first)
    session.commit()
    assert outcome == operations.LINKED and len(events) == 1
    assert events[0].payload["data"]["message"]["body"] == "Ticket TKT-00001 created"
    assert events[0].payload["data"]["conversation"]["ticket_numbers"] == ["TKT-00001"]
    # The same ticket again (a redelivery, a relay re-publish with a new event id): nothing more.
    assert operations.link_ticket(session, first) == (operations.DUPLICATE, [])
    assert operations.link_ticket(session, {**first, "event_id": uuid.uuid4()}) == (operations.DUPLICATE, [])
    session.commit()
    assert operations.link_ticket(session, link(conversation, "TKT-00002"))[0] == operations.LINKED
    session.commit()
    session.refresh(conversation)
    assert conversation.ticket_numbers == ["TKT-00001", "TKT-00002"]
    bodies = list(session.scalars(sa.select(Message.body).where(Message.author == "system").order_by(Message.id)))
    assert bodies == ["Ticket TKT-00001 created", "Ticket TKT-00002 created"]


def test_a_ticket_links_only_within_its_own_client_and_to_a_known_conversation(session):
    _, conversation = start(session)
    assert operations.link_ticket(session, link(conversation, client_id="globex")) == (operations.OTHER_CLIENT, [])
    stranger = link(conversation)
    stranger["conversation_id"] = uuid.uuid4()
    assert operations.link_ticket(session, stranger) == (operations.UNKNOWN_CONVERSATION, [])
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketLink)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_a_closed_conversation_still_shows_a_ticket_made_from_it(session):
    _, conversation = start(session)
    operations.close_conversation(session, conversation.id)
    assert operations.link_ticket(session, link(conversation))[0] == operations.LINKED


def test_the_unique_ticket_link_holds_in_the_database_itself(session):
    _, conversation = start(session)
    first = link(conversation)
    operations.link_ticket(session, first)
    session.commit()
    message_id = session.scalar(sa.select(Message.id))
    session.add(TicketLink(
        conversation_id=conversation.id, ticket_id=first["ticket_id"], ticket_number="TKT-00001",
        event_id=uuid.uuid4(), message_id=message_id, linked_at=T0,
    ))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_ticket_draft_is_what_create_ticket_accepts(session):
    _, conversation = start(session, message="My printer is on fire")
    post(session, conversation, "Which model?")
    draft = operations.ticket_draft(session, conversation.id, client_id="acme")
    assert draft["description"] == "Kira: My printer is on fire\nAnn: Which model?"
    assert draft["conversation_id"] == str(conversation.id)
    with pytest.raises(NotFound):
        operations.ticket_draft(session, conversation.id, client_id="globex")
