"""Chat rules without a database or a broker: tokens, posting, read markers, ticket links, drafts."""
import uuid
from datetime import datetime, timezone

import pytest

from services.chat import domain
from services.chat.models import Conversation, Message
from shared.contracts.events import make_envelope
from shared.contracts.exceptions import Conflict

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def conversation(**overrides):
    values = dict(
        id=uuid.uuid4(), client_id="acme", customer_name="Kira", customer_email="kira@example.com",
        status="open", agent_read_up_to=0, customer_read_up_to=0, last_message_id=None, ticket_numbers=[],
    )
    return Conversation(**{**values, **overrides})


def message(id_, author="customer", body="hello", author_name="Kira"):
    return Message(id=id_, author=author, author_name=author_name, body=body, created_at=NOW)


def test_tokens_are_256_random_bits_and_only_their_hash_is_kept():
    tokens = {domain.new_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) == 43 and domain.hash_token(token) == domain.hash_token(token)
    assert len(domain.hash_token(token)) == 64 and token not in domain.hash_token(token)
    assert domain.hash_token(token + "x") != domain.hash_token(token)


@pytest.mark.parametrize("not_a_token", [None, "", "short", "a" * 129, "../../etc/passwd-xxxxxxxxxxxx", 42, ["x"]])
def test_what_cannot_be_a_token_matches_nothing(not_a_token):
    assert domain.hash_token(not_a_token) is None


def test_parse_id_accepts_uuids_and_their_text_only():
    value = uuid.uuid4()
    assert domain.parse_id(value) == value and domain.parse_id(f" {value} ") == value
    assert domain.parse_id("TKT-00001") is None and domain.parse_id(None) is None and domain.parse_id(12) is None


def test_preview_is_one_bounded_line():
    assert domain.preview("  two\n\nlines\t here ") == "two lines here"
    long = domain.preview("word " * 100)
    assert len(long) == domain.PREVIEW_MAX and long.endswith("…")


def test_only_the_service_writes_in_a_closed_conversation():
    closed = conversation(status="closed")
    for author in ("customer", "agent"):
        with pytest.raises(Conflict, match="closed"):
            domain.check_can_post(closed, author)
    domain.check_can_post(closed, "system")
    domain.check_can_post(conversation(), "customer")
    with pytest.raises(Conflict):
        domain.check_can_assign(closed)


def test_a_post_becomes_the_newest_and_its_author_has_read_up_to_it():
    chat = conversation()
    domain.record_post(chat, message(3, author="agent", author_name="Ann", body="Hi\nthere"))
    assert (chat.last_message_id, chat.last_message_author, chat.last_message_author_name) == (3, "agent", "Ann")
    assert chat.last_message_preview == "Hi there" and chat.last_message_at == NOW
    assert (chat.agent_read_up_to, chat.customer_read_up_to) == (3, 0)
    domain.record_post(chat, message(4, author="system", author_name="Deskline"))
    assert (chat.agent_read_up_to, chat.customer_read_up_to) == (3, 0)


def test_read_markers_only_move_forward_and_never_past_the_newest_message():
    chat = conversation(last_message_id=10, agent_read_up_to=4)
    assert domain.mark_read(chat, "agent", 2) is False and chat.agent_read_up_to == 4
    assert domain.mark_read(chat, "agent", 99) is True and chat.agent_read_up_to == 10
    assert domain.mark_read(chat, "customer", 7) is True and chat.customer_read_up_to == 7


def test_closing_twice_changes_nothing_the_second_time():
    chat = conversation()
    assert domain.close(chat, "ann", NOW) is True
    assert (chat.status, chat.closed_at, chat.closed_by) == ("closed", NOW, "ann")
    assert domain.close(chat, "bob", datetime.now(timezone.utc)) is False
    assert (chat.closed_at, chat.closed_by) == (NOW, "ann")


def ticket_created(**ticket):
    values = {"id": str(uuid.uuid4()), "ticket_number": "TKT-00003", "client_id": "acme", "conversation_id": None}
    return make_envelope("ticket.created", {"ticket": {**values, **ticket}, "actor": "ann"})


def test_a_ticket_from_a_conversation_asks_for_a_link():
    conversation_id = uuid.uuid4()
    envelope = ticket_created(conversation_id=str(conversation_id))
    link = domain.ticket_link(envelope)
    assert link == {
        "event_id": uuid.UUID(envelope["event_id"]), "conversation_id": conversation_id, "client_id": "acme",
        "ticket_id": uuid.UUID(envelope["data"]["ticket"]["id"]), "ticket_number": "TKT-00003",
    }
    assert domain.ticket_created_text(link["ticket_number"]) == "Ticket TKT-00003 created"


@pytest.mark.parametrize("reference", [None, "", "chat-42", "not a uuid"])
def test_a_ticket_from_no_conversation_of_ours_asks_for_nothing(reference):
    assert domain.ticket_link(ticket_created(conversation_id=reference)) is None


@pytest.mark.parametrize(
    "envelope",
    [
        {},
        {"event_id": "nope", "data": {"ticket": {}}},
        make_envelope("ticket.created", {"actor": None}),
        ticket_created(conversation_id=str(uuid.uuid4()), id="nope"),
        ticket_created(conversation_id=str(uuid.uuid4()), ticket_number="3"),
        ticket_created(conversation_id=str(uuid.uuid4()), client_id=None),
        "a string",
    ],
)
def test_unreadable_ticket_events_are_malformed(envelope):
    with pytest.raises(domain.MalformedEvent):
        domain.ticket_link(envelope)


def test_ticket_draft_prefills_the_guides_fields_with_the_newest_lines():
    chat = conversation()
    messages = [
        message(1, body="My printer\nis on fire"),
        message(2, author="agent", author_name="Ann", body="Which model?"),
        message(3, author="system", author_name="Deskline", body="Ticket TKT-00001 created"),
        message(4, body="X-100"),
    ]
    draft = domain.ticket_draft(chat, messages)
    assert draft == {
        "conversation_id": str(chat.id), "client_id": "acme", "customer_name": "Kira",
        "customer_email": "kira@example.com", "title": "Support Issue from Kira",
        "description": "Kira: My printer is on fire\nAnn: Which model?\nKira: X-100",
    }
    short = domain.ticket_draft(chat, messages, excerpt_max=30)
    assert short["description"] == "Ann: Which model?\nKira: X-100"
    assert len(domain.ticket_draft(chat, [message(1, body="x" * 5000)])["description"]) == 1500
    assert domain.ticket_draft(chat, [])["description"] == "Live chat with Kira."
