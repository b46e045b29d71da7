"""A chat's messages as a ticket's first entries (api/transcript.py), without services."""
import pytest
from marshmallow import ValidationError

from services.tracker_gateway.api.transcript import select, thread_entries
from shared.contracts.message_schemas import INITIAL_MESSAGES_MAX


def chat_message(n, author="customer", body=None):
    return {"id": n, "author": author, "author_name": "Ann" if author == "agent" else "Kira",
            "author_id": "ann@desk.io" if author == "agent" else None, "body": body or f"m{n}",
            "created_at": f"2026-11-30T12:00:{n:02d}+00:00"}


def test_customer_and_agent_lines_keep_their_authors_and_times_system_lines_are_left_out():
    entries = thread_entries([chat_message(1), chat_message(2, "agent"), chat_message(3, "system")], "k@x.io")
    assert entries == [
        {"body": "m1", "author_type": "customer", "author_name": "Kira", "author_email": "k@x.io",
         "visibility": "public", "channel": "chat", "created_at": "2026-11-30T12:00:01+00:00"},
        {"body": "m2", "author_type": "agent", "author_name": "Ann", "author_email": "ann@desk.io",
         "visibility": "public", "channel": "chat", "created_at": "2026-11-30T12:00:02+00:00"},
    ]


def test_a_long_chat_keeps_its_newest_lines():
    entries = thread_entries([chat_message(n % 60) for n in range(INITIAL_MESSAGES_MAX + 5)])
    assert len(entries) == INITIAL_MESSAGES_MAX and entries[0]["body"] == f"m{5 % 60}"


def test_a_selection_keeps_the_chat_s_order_and_refuses_foreign_ids():
    messages = [chat_message(n) for n in (1, 2, 3)]
    assert select(messages) == messages
    assert [m["id"] for m in select(messages, [3, 1])] == [1, 3]
    with pytest.raises(ValidationError) as error:
        select(messages, [2, 9])
    assert error.value.messages == {"message_ids": ["Not messages of this conversation: 9."]}
