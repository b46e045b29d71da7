"""A ticket's conversation (services/tickets/conversation.py) on real PostgreSQL, and its RPC and
ticket.message_added event through real RabbitMQ."""
import base64
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.tickets import conversation, operations
from services.tickets.models import OutboxEvent, Ticket, TicketMessage
from shared.contracts.exceptions import NotFound, ValidationError
from shared.testing import EventCollector

NEW = {"title": "VPN drops", "description": "Every hour", "client_id": "acme",
       "customer_name": "Kira", "customer_email": "kira@example.com"}
CUSTOMER = {"body": "Still broken", "author_type": "customer", "author_name": "Kira",
            "author_email": "kira@example.com", "channel": "email"}
REPLY = {"body": "Try restarting", "author_type": "agent", "author_name": "Ann", "author_email": "ann@desk.io",
         "channel": "agent", "visibility": "public"}
NOTE = {**REPLY, "body": "Customer is on the old client", "visibility": "internal"}
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def create(session, **overrides):
    ticket, _ = operations.create_ticket(session, {**NEW, **overrides}, now=NOW)
    session.commit()
    return ticket


def add(session, ref, message, **kwargs):
    kwargs.setdefault("client_id", "acme")
    result, events = conversation.add_message(session, ref, message, **kwargs)
    session.commit()
    return result, events


def event_types(session):
    return [e.event_type for e in session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id))]


def test_a_new_ticket_has_a_reply_token_a_channel_and_no_first_response(session):
    ticket = create(session)
    other = create(session)
    assert len(ticket["reply_token"]) == 24 and ticket["reply_token"] == ticket["reply_token"].lower()
    assert ticket["reply_token"] != other["reply_token"]
    assert ticket["channel"] == "api" and ticket["related_ticket"] is None and ticket["first_response_at"] is None
    assert create(session, channel="agent")["channel"] == "agent"


def test_messages_list_oldest_first_and_internal_notes_only_for_agents(session):
    ticket = create(session)
    add(session, ticket["ticket_number"], CUSTOMER, now=NOW + timedelta(minutes=1))
    add(session, ticket["id"], NOTE, now=NOW + timedelta(minutes=2))
    add(session, ticket["ticket_number"], REPLY, now=NOW + timedelta(minutes=3))
    thread = conversation.list_messages(session, ticket["ticket_number"], client_id="acme")
    assert [(m["author_type"], m["visibility"], m["body"]) for m in thread] == [
        ("customer", "public", "Still broken"), ("agent", "internal", "Customer is on the old client"),
        ("agent", "public", "Try restarting")]
    first = thread[0]
    assert set(first) == {"id", "ticket_id", "ticket_number", "author_type", "author_name", "author_email",
                          "visibility", "channel", "body", "created_at", "attachments", "email_message_id",
                          "has_original"}
    assert first["ticket_number"] == ticket["ticket_number"] and first["ticket_id"] == ticket["id"]
    assert first["created_at"].endswith("+00:00") and first["channel"] == "email"
    public = conversation.list_messages(session, ticket["ticket_number"], include_internal=False, client_id="acme")
    assert [m["visibility"] for m in public] == ["public", "public"]


def test_each_message_records_its_event_with_visibility(session):
    ticket = create(session)
    add(session, ticket["ticket_number"], NOTE)
    event = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "ticket.message_added")).one()
    data = event.payload["data"]
    assert data["message"]["visibility"] == "internal" and data["ticket"]["id"] == ticket["id"]
    assert data["actor"] == "ann@desk.io"


def test_first_public_agent_reply_stamps_first_response_once(session):
    ticket = create(session)
    add(session, ticket["ticket_number"], NOTE, now=NOW + timedelta(minutes=1))
    assert operations.get_ticket(session, ticket["ticket_number"], client_id="acme").first_response_at is None
    result, _ = add(session, ticket["ticket_number"], REPLY, now=NOW + timedelta(minutes=5))
    assert result["ticket"]["first_response_at"] == (NOW + timedelta(minutes=5)).isoformat()
    result, _ = add(session, ticket["ticket_number"], REPLY, now=NOW + timedelta(minutes=9))
    assert result["ticket"]["first_response_at"] == (NOW + timedelta(minutes=5)).isoformat()
    assert result["ticket"]["last_customer_message_at"] is None
    result, _ = add(session, ticket["ticket_number"], CUSTOMER, now=NOW + timedelta(minutes=12))
    assert result["ticket"]["last_customer_message_at"] == (NOW + timedelta(minutes=12)).isoformat()


def test_a_reply_can_set_the_status_which_is_history_and_an_update_event(session):
    ticket = create(session)
    result, _ = add(session, ticket["ticket_number"], {**REPLY, "status": "pending"})
    assert result["ticket"]["status"] == "pending" and result["created_ticket"] is False
    history = operations.get_history(session, ticket["ticket_number"], client_id="acme")
    assert [(h["action"], h["field"], h["new_value"], h["actor"]) for h in history][-1] == (
        "updated", "status", "pending", "ann@desk.io")
    assert event_types(session) == ["ticket.created", "ticket.updated", "ticket.message_added"]
    update = session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "ticket.updated")).one()
    assert update.payload["data"]["changes"] == {"status": {"from": "open", "to": "pending"}}
    assert update.payload["data"]["message_id"] == result["message"]["id"]
    result, _ = add(session, ticket["ticket_number"], {**REPLY, "status": "resolved"})
    assert result["ticket"]["status"] == "resolved" and result["ticket"]["resolved_at"] is not None


@pytest.mark.parametrize("status", ["pending", "resolved"])
def test_a_customer_message_reopens_a_pending_or_resolved_ticket(session, status):
    ticket = create(session, status=status)
    result, _ = add(session, ticket["ticket_number"], CUSTOMER)
    assert result["ticket"]["status"] == "open" and result["ticket"]["resolved_at"] is None
    assert result["created_ticket"] is False


def test_a_customer_message_on_an_open_ticket_changes_no_status(session):
    ticket = create(session, status="in_progress")
    result, _ = add(session, ticket["ticket_number"], CUSTOMER)
    assert result["ticket"]["status"] == "in_progress"
    assert event_types(session) == ["ticket.created", "ticket.message_added"]


def test_a_message_on_a_ticket_closed_recently_reopens_it(session):
    ticket = create(session)
    operations.update_ticket(session, ticket["ticket_number"], {"status": "closed"}, now=NOW, client_id="acme")
    session.commit()
    result, _ = add(session, ticket["ticket_number"], CUSTOMER, now=NOW + timedelta(days=13))
    assert result["ticket"]["ticket_number"] == ticket["ticket_number"] and result["ticket"]["status"] == "open"


def test_a_message_on_a_ticket_closed_long_ago_starts_a_linked_ticket(session):
    ticket = create(session, category="billing")
    operations.update_ticket(session, ticket["ticket_number"], {"status": "closed"}, now=NOW, client_id="acme")
    session.commit()
    later = NOW + timedelta(days=15)
    result, _ = add(session, ticket["ticket_number"], CUSTOMER, now=later, idempotency_key="mail-1")
    new = result["ticket"]
    assert result["created_ticket"] is True and new["ticket_number"] != ticket["ticket_number"]
    assert new["related_ticket"] == ticket["ticket_number"] and new["status"] == "open"
    assert (new["client_id"], new["customer_email"], new["category"]) == ("acme", "kira@example.com", "billing")
    assert new["channel"] == "email"
    assert [m["body"] for m in conversation.list_messages(session, new["ticket_number"], client_id="acme")] == ["Still broken"]
    assert conversation.list_messages(session, ticket["ticket_number"], client_id="acme") == []
    # The same delivery again answers the same; the next message joins the follow-up, no third ticket.
    again, events = add(session, ticket["ticket_number"], CUSTOMER, now=later, idempotency_key="mail-1")
    assert again == result and events == []
    more, _ = add(session, ticket["ticket_number"], {**CUSTOMER, "body": "And again"}, now=later)
    assert more["ticket"]["ticket_number"] == new["ticket_number"] and more["created_ticket"] is False
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2
    # A client's own window: 30 days keeps the old ticket.
    third = create(session)
    operations.update_ticket(session, third["ticket_number"], {"status": "closed"}, now=NOW, client_id="acme")
    session.commit()
    kept, _ = add(session, third["ticket_number"], {**CUSTOMER, "reopen_window_days": 30}, now=later)
    assert kept["ticket"]["ticket_number"] == third["ticket_number"] and kept["created_ticket"] is False


def test_a_repeated_idempotency_key_returns_the_first_result(session):
    ticket = create(session)
    first, events = add(session, ticket["ticket_number"], CUSTOMER, idempotency_key="k-1")
    assert len(events) == 1
    again, events = add(session, ticket["ticket_number"], {**CUSTOMER, "body": "different"}, idempotency_key="k-1")
    assert again == first and events == []
    assert len(conversation.list_messages(session, ticket["ticket_number"], client_id="acme")) == 1


def test_attachments_are_stored_listed_and_served(session):
    ticket = create(session)
    files = [{"filename": "log.txt", "content_type": "text/plain", "data_b64": b64(b"line 1\n")},
             {"filename": "shot.png", "data_b64": b64(b"\x89PNG\r\n")}]
    result, _ = add(session, ticket["ticket_number"], {**CUSTOMER, "body": "", "attachments": files})
    listed = result["message"]["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in listed] == [
        ("log.txt", "text/plain", 7), ("shot.png", "application/octet-stream", 6)]
    got = conversation.get_attachment(session, ticket["ticket_number"], listed[0]["id"], client_id="acme")
    assert base64.b64decode(got["data_b64"]) == b"line 1\n" and got["filename"] == "log.txt"
    other = create(session)
    for ref, attachment_id, client in ((other["ticket_number"], listed[0]["id"], None),
                                       (ticket["ticket_number"], listed[0]["id"], "globex"),
                                       (ticket["ticket_number"], "not-a-uuid", None)):
        with pytest.raises(NotFound):
            conversation.get_attachment(session, ref, attachment_id, client_id=client)


def test_attachments_of_internal_notes_are_not_served_to_the_customer_side(session):
    ticket = create(session)
    note, _ = add(session, ticket["ticket_number"], {**NOTE, "attachments": [{"filename": "x", "data_b64": b64(b"x")}]})
    attachment_id = note["message"]["attachments"][0]["id"]
    assert conversation.get_attachment(session, ticket["ticket_number"], attachment_id, client_id="acme")["size"] == 1
    with pytest.raises(NotFound):
        conversation.get_attachment(session, ticket["ticket_number"], attachment_id, include_internal=False, client_id="acme")


@pytest.mark.parametrize("message, field", [
    ({**CUSTOMER, "body": "x" * 100_001}, "body"),
    ({**CUSTOMER, "body": "  "}, "body"),
    ({**CUSTOMER, "attachments": [{"filename": f"{i}", "data_b64": b64(b"x")} for i in range(11)]}, "attachments"),
    ({**CUSTOMER, "attachments": [{"filename": "big", "data_b64": b64(b"x" * (10 * 1024 * 1024 + 1))}]}, "attachments"),
    ({**CUSTOMER, "attachments": [{"filename": "bad", "data_b64": "%%%"}]}, "attachments"),
    ({**CUSTOMER, "visibility": "internal"}, "visibility"),
    ({**CUSTOMER, "status": "resolved"}, "status"),
    ({**NOTE, "status": "resolved"}, "status"),
    ({**REPLY, "status": "done"}, "status"),
    ({**REPLY, "author_type": "robot"}, "author_type"),
    ({**REPLY, "channel": "fax"}, "channel"),
    ({**REPLY, "author_email": "nope"}, "author_email"),
    ({**REPLY, "created_at": "2026-01-01T00:00:00+00:00"}, "created_at"),
    ({**REPLY, "body": "nul\x00"}, "body"),
])
def test_bad_messages_name_the_field_and_write_nothing(session, message, field):
    ticket = create(session)
    with pytest.raises(ValidationError) as error:
        conversation.add_message(session, ticket["ticket_number"], message, client_id="acme")
    assert field in error.value.errors
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketMessage)) == 0


def test_a_message_for_an_unknown_or_foreign_ticket_is_not_found(session):
    ticket = create(session)
    with pytest.raises(NotFound):
        conversation.add_message(session, ticket["ticket_number"], CUSTOMER, client_id="globex")
    with pytest.raises(NotFound):
        conversation.list_messages(session, "TKT-09999", client_id="acme")


def test_create_ticket_with_initial_messages_keeps_their_order_and_times(session):
    transcript = [
        {"body": "Hi, my VPN drops", "author_type": "customer", "author_name": "Kira", "channel": "chat",
         "created_at": (NOW - timedelta(minutes=10)).isoformat()},
        {"body": "Which version?", "author_type": "agent", "author_name": "Ann", "channel": "chat",
         "created_at": (NOW - timedelta(minutes=9)).isoformat()},
    ]
    ticket, event = operations.create_ticket(session, {**NEW, "channel": "chat", "messages": transcript}, now=NOW)
    session.commit()
    thread = conversation.list_messages(session, ticket["ticket_number"], client_id="acme")
    assert [(m["author_type"], m["channel"], m["body"]) for m in thread] == [
        ("customer", "chat", "Hi, my VPN drops"), ("agent", "chat", "Which version?")]
    assert thread[0]["created_at"] == (NOW - timedelta(minutes=10)).isoformat()
    assert ticket["channel"] == "chat" and ticket["first_response_at"] is None
    assert ticket["last_customer_message_at"] == (NOW - timedelta(minutes=10)).isoformat()
    assert [m["id"] for m in event.payload["data"]["messages"]] == [m["id"] for m in thread]
    assert event_types(session) == ["ticket.created"]


def test_bad_initial_messages_create_nothing(session):
    with pytest.raises(ValidationError) as error:
        operations.create_ticket(session, {**NEW, "messages": [{"body": "x", "author_type": "customer"}]})
    assert "messages" in error.value.errors
    with pytest.raises(ValidationError) as error:
        operations.create_ticket(session, {**NEW, "channel": "pigeon"})
    assert "channel" in error.value.errors


def test_find_ticket_for_email_by_token_then_headers_then_subject(session):
    ticket = create(session)
    other = create(session, client_id="globex", customer_email="gus@globex.io")
    add(session, ticket["ticket_number"], {**CUSTOMER, "email_message_id": "<abc@mail.example>"})
    find = conversation.find_ticket_for_email
    by_token = find(session, reply_tokens=["nope", ticket["reply_token"].upper()])
    assert by_token["ticket"]["id"] == ticket["id"] and by_token["matched_by"] == "token"
    assert find(session, client_id="globex", reply_tokens=[ticket["reply_token"]]) is None
    by_headers = find(session, message_ids=["<zzz@x>", "<abc@mail.example>"])
    assert by_headers["ticket"]["id"] == ticket["id"] and by_headers["matched_by"] == "headers"
    by_subject = find(session, client_id="acme", number=ticket["ticket_number"], sender="KIRA@example.com ")
    assert by_subject["ticket"]["id"] == ticket["id"] and by_subject["matched_by"] == "subject"
    assert find(session, number=ticket["ticket_number"], sender="mallory@evil.io") is None  # spoofed sender
    assert find(session, number=ticket["ticket_number"]) is None
    assert find(session, client_id="globex", number=ticket["ticket_number"], sender="kira@example.com") is None
    assert find(session, number=1, sender="kira@example.com")["matched_by"] == "subject"
    # The token wins over headers that point elsewhere.
    first = find(session, reply_tokens=[other["reply_token"]], message_ids=["<abc@mail.example>"])
    assert first["ticket"]["id"] == other["id"]
    assert find(session) is None


def test_the_outgoing_message_id_can_be_recorded_and_then_matches(session):
    ticket = create(session)
    reply, _ = add(session, ticket["ticket_number"], REPLY)
    conversation.set_email_message_id(session, reply["message"]["id"], "<reply-1@deskline>")
    session.commit()
    found = conversation.find_ticket_for_email(session, message_ids=["<reply-1@deskline>"])
    assert found["ticket"]["id"] == ticket["id"]
    with pytest.raises(NotFound):
        conversation.set_email_message_id(session, 99999, "<x@y>")


# -- through RabbitMQ --

@pytest.fixture
def events(amqp_uri, tickets_service):
    with EventCollector(amqp_uri, "tickets") as collector:
        yield collector


def test_rpc_round_trip_and_message_added_event(tickets_rpc, events):
    ticket = tickets_rpc.create_ticket({**NEW, "channel": "email", "messages": [CUSTOMER]})
    result = tickets_rpc.add_message(ticket["ticket_number"], {**REPLY, "status": "pending"}, client_id="acme",
                                     idempotency_key="r-1")
    assert result["ticket"]["status"] == "pending" and result["created_ticket"] is False
    assert result["ticket"]["first_response_at"] is not None
    assert tickets_rpc.add_message(ticket["ticket_number"], REPLY, client_id="acme", idempotency_key="r-1") == result
    note = tickets_rpc.add_message(ticket["id"], NOTE)
    thread = tickets_rpc.list_messages(ticket["ticket_number"], client_id="acme")
    assert [m["author_type"] for m in thread] == ["customer", "agent", "agent"]
    assert [m["visibility"] for m in tickets_rpc.list_messages(ticket["ticket_number"], client_id="acme", include_internal=False)] == [
        "public", "public"]
    events.wait_for(lambda got: len([e for e in got if e["event_type"] == "ticket.message_added"]) == 2)
    added = [e["data"] for e in events.events if e["event_type"] == "ticket.message_added"]
    assert [(a["message"]["id"], a["message"]["visibility"]) for a in added] == [
        (result["message"]["id"], "public"), (note["message"]["id"], "internal")]
    assert [e["event_type"] for e in events.events] == [
        "ticket.created", "ticket.updated", "ticket.message_added", "ticket.message_added"]
    found = tickets_rpc.find_ticket_for_email(reply_tokens=[ticket["reply_token"]])
    assert found["matched_by"] == "token" and found["ticket"]["id"] == ticket["id"]
    assert tickets_rpc.find_ticket_for_email(reply_tokens=["x" * 24]) is None


def test_rpc_errors_are_typed(tickets_rpc):
    ticket = tickets_rpc.create_ticket(NEW)
    with pytest.raises(ValidationError) as error:
        tickets_rpc.add_message(ticket["ticket_number"], {**CUSTOMER, "visibility": "internal"}, client_id="acme")
    assert error.value.errors == {"visibility": ["Only agents write internal notes."]}
    with pytest.raises(NotFound):
        tickets_rpc.list_messages(ticket["ticket_number"], client_id="globex")
    with pytest.raises(NotFound):
        tickets_rpc.get_attachment(ticket["ticket_number"], "00000000-0000-0000-0000-000000000000", client_id="acme")
    data = b"%PDF-1.4 bytes"
    added = tickets_rpc.add_message(ticket["ticket_number"], client_id="acme", message={
        **CUSTOMER, "attachments": [{"filename": "a.pdf", "content_type": "application/pdf", "data_b64": b64(data)}]})
    got = tickets_rpc.get_attachment(ticket["ticket_number"], added["message"]["attachments"][0]["id"], client_id="acme")
    assert base64.b64decode(got["data_b64"]) == data and got["size"] == len(data)


def test_the_whole_original_of_a_cut_email_is_kept_for_agents_and_only_flagged_in_the_thread(session):
    ticket = create(session)
    original = "Still broken\n\nOn Mon, Ann wrote:\n> Try restarting"
    with_original, _ = add(session, ticket["ticket_number"], {**CUSTOMER, "original": original})
    plain, _ = add(session, ticket["ticket_number"], REPLY)
    assert with_original["message"]["has_original"] is True and plain["message"]["has_original"] is False
    listed = conversation.list_messages(session, ticket["ticket_number"], "acme")
    assert [m["has_original"] for m in listed] == [True, False]
    assert all("original" not in m for m in listed)  # the text itself only on request

    found = conversation.get_original(session, ticket["ticket_number"], with_original["message"]["id"], "acme")
    assert found["original"] == original and found["ticket_number"] == ticket["ticket_number"]
    other = create(session)
    for ref, message_id, client in ((ticket["ticket_number"], plain["message"]["id"], "acme"),  # nothing more kept
                                    (other["ticket_number"], with_original["message"]["id"], "acme"),  # another ticket's
                                    (ticket["ticket_number"], with_original["message"]["id"], "globex"),  # another client
                                    (ticket["ticket_number"], 0, "acme"), (ticket["ticket_number"], 2 ** 70, "acme"),
                                    (ticket["ticket_number"], True, "acme")):
        with pytest.raises(NotFound):
            conversation.get_original(session, ref, message_id, client)
