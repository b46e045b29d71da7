"""The conversation's rules (services/tickets/conversation.py) and the message contract, without database or broker."""
import base64
from datetime import datetime, timedelta, timezone

import pytest

from services.tickets import conversation
from services.tickets.models import Ticket
from shared.contracts.customer_view import customer_ticket
from shared.contracts.exceptions import ValidationError
from shared.contracts.message_schemas import MessageInputSchema
from shared.contracts.schemas import load

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
CUSTOMER = {"author_type": "customer", "visibility": "public", "channel": "email", "reopen_window_days": 14}
REPLY = {"author_type": "agent", "visibility": "public", "channel": "agent"}
NOTE = {"author_type": "agent", "visibility": "internal", "channel": "agent"}


def ticket(**values):
    return Ticket(**{"status": "open", "first_response_at": None, "closed_at": None, **values})


def test_reply_tokens_are_24_lowercase_base32_and_differ():
    tokens = {conversation.new_reply_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) == 24 and set(t) <= set("abcdefghijklmnopqrstuvwxyz234567") for t in tokens)


@pytest.mark.parametrize("status, expected", [
    ("open", None), ("in_progress", None), ("pending", "open"), ("resolved", "open"), ("closed", "open")])
def test_a_customer_message_brings_a_waiting_or_finished_ticket_back(status, expected):
    assert conversation.status_after(ticket(status=status), CUSTOMER) == expected


def test_only_an_agent_public_reply_sets_the_status_and_notes_change_nothing():
    assert conversation.status_after(ticket(), {**REPLY, "status": "pending"}) == "pending"
    assert conversation.status_after(ticket(status="pending"), {**REPLY, "status": "pending"}) is None
    assert conversation.status_after(ticket(), REPLY) is None
    assert conversation.status_after(ticket(status="pending"), NOTE) is None


def test_first_response_is_the_first_public_agent_reply():
    assert conversation.is_first_response(ticket(), REPLY)
    assert not conversation.is_first_response(ticket(), NOTE)
    assert not conversation.is_first_response(ticket(), CUSTOMER)
    assert not conversation.is_first_response(ticket(first_response_at=NOW), REPLY)


def test_a_new_ticket_only_after_the_reopen_window():
    closed = ticket(status="closed", closed_at=NOW)
    assert not conversation.starts_new_ticket(closed, CUSTOMER, NOW + timedelta(days=14))
    assert conversation.starts_new_ticket(closed, CUSTOMER, NOW + timedelta(days=14, seconds=1))
    assert not conversation.starts_new_ticket(closed, {**CUSTOMER, "reopen_window_days": 30}, NOW + timedelta(days=20))
    assert not conversation.starts_new_ticket(closed, REPLY, NOW + timedelta(days=100))
    assert not conversation.starts_new_ticket(ticket(status="resolved", closed_at=None), CUSTOMER, NOW + timedelta(days=100))


def test_follow_up_copies_client_customer_and_links_the_old_number():
    old = ticket(ticket_number="TKT-00007", title="VPN", client_id="acme", category="technical",
                 customer_name="Kira", customer_email="k@x.io")
    data = conversation.follow_up_data(old, {**CUSTOMER, "body": "x" * 30_000})
    assert data["related_ticket"] == "TKT-00007" and data["channel"] == "email" and data["client_id"] == "acme"
    assert len(data["description"]) == 20_000 and data["customer_email"] == "k@x.io"
    assert conversation.follow_up_data(old, {**CUSTOMER, "channel": "tracker", "body": "b"})["channel"] == "api"


def test_sender_comparison_ignores_case_and_spaces():
    assert conversation.same_address("Kira@Example.com", " kira@example.com ")
    assert not conversation.same_address(None, "kira@example.com")
    assert not conversation.same_address("a@b.c", "a@b.cc")


SCHEMA = MessageInputSchema()


def message(**values):
    return load(SCHEMA, {"body": "hi", "author_type": "customer", "channel": "web", **values})


def test_message_defaults():
    values = message()
    assert (values["visibility"], values["attachments"], values["reopen_window_days"]) == ("public", [], 14)


def test_attachment_limits_count_the_decoded_bytes():
    exactly = base64.b64encode(b"x" * (10 * 1024 * 1024)).decode()
    assert message(attachments=[{"filename": "f", "data_b64": exactly}])["attachments"][0]["content_type"] == (
        "application/octet-stream")
    with pytest.raises(ValidationError) as error:
        message(attachments=[{"filename": "f", "data_b64": exactly}, {"filename": "g", "data_b64": "eA=="}])
    assert error.value.errors == {"attachments": ["At most 10 MB of files in all."]}
    with pytest.raises(ValidationError) as error:
        message(attachments=[{"filename": " ", "data_b64": "eA=="}])
    assert error.value.errors == {"attachments": {0: {"filename": ["Must not be blank."]}}}


def test_the_customer_never_sees_the_reply_token():
    view = customer_ticket({"ticket_number": "TKT-00001", "reply_token": "secret", "channel": "email"})
    assert "reply_token" not in view
