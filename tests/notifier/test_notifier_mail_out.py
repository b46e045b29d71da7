"""Email out on the ticket's thread: every email's own Message-ID, In-Reply-To/References of the
thread, Reply-To with the ticket's token; a public agent reply emailed with the earlier messages
quoted; internal notes never leave; a customer's message a short notice to the agents who asked."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.rpc import rpc

from services.notifier import directory
from services.notifier.models import InboundMessage
from shared.testing import wait_for
from tests.fixtures.inbound_mail import DOMAIN, desk_settings
from tests.fixtures.notifier import deliveries_in, ticket_envelope, ticket_payload

TOKEN = "abcdefghijklmnopqrstuvwx"
CLIENT_ID = str(uuid.uuid4())
MESSAGE_ADDED = "ticket.message_added"


@pytest.fixture
def notifier_settings(smtp_sink):
    return desk_settings(smtp_sink)


class FakeTickets:
    """The tickets service's list_messages (contract A), answering what the test put in `thread`."""

    name = "tickets"
    thread = []
    calls = []

    @rpc
    def list_messages(self, ref, client_id=None, include_internal=True):
        FakeTickets.calls.append((ref, include_internal))
        return [m for m in FakeTickets.thread if include_internal or m["visibility"] == "public"]


@pytest.fixture
def fake_tickets(container_factory, amqp_uri):
    FakeTickets.thread, FakeTickets.calls = [], []
    container = container_factory(FakeTickets, {"AMQP_URI": amqp_uri})
    container.start()
    return FakeTickets


def at(minutes):
    return (datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc) + timedelta(minutes=minutes)).isoformat()


def message(ticket, author_type="agent", visibility="public", body="We replaced the toner.", minutes=10,
            author_name="Ada Lovelace", email_message_id=None):
    return {"id": uuid.uuid4().int % 10**9, "ticket_id": ticket["id"], "ticket_number": ticket["ticket_number"],
            "author_type": author_type, "author_name": author_name,
            "author_email": "ada@acme.test" if author_type == "agent" else ticket["customer_email"],
            "visibility": visibility, "channel": "agent" if author_type == "agent" else "email", "body": body,
            "created_at": at(minutes), "attachments": [], "email_message_id": email_message_id}


def added(ticket, entry, event_id=None):
    return ticket_envelope(MESSAGE_ADDED, ticket, event_id=event_id) | {
        "data": {"ticket": ticket, "message": entry, "actor": "ada@acme.test"}}


def ticket_with_token(**overrides):
    return ticket_payload(reply_token=TOKEN, client_id=CLIENT_ID, **overrides)


def test_created_and_updated_emails_thread_and_carry_the_reply_address(
    notifier_service, publish_ticket_event, smtp_sink, notifier_sessions
):
    ticket = ticket_with_token(ticket_number="TKT-00012")
    publish_ticket_event(ticket_envelope("ticket.created", ticket))
    (created,) = smtp_sink.wait_for_count(1)
    root = f"<ticket-{ticket['id']}@deskline.test>"
    assert created.subject.startswith("[TKT-00012] ")
    assert created.message["Reply-To"] == f"support+{TOKEN}@{DOMAIN}"
    assert created.message["References"] == root and created.message["In-Reply-To"] == root
    assert created.message["Auto-Submitted"] == "auto-generated"
    created_id = created.message["Message-ID"]
    assert created_id != root and created_id.endswith("@deskline.test>")

    resolved = {**ticket, "status": "resolved", "resolution_notes": "Done."}
    publish_ticket_event(ticket_envelope("ticket.updated", resolved, {"status": {"from": "open", "to": "resolved"}}))
    second = smtp_sink.wait_for_count(2)[1]
    assert second.message["References"].split() == [root, created_id]
    assert second.message["In-Reply-To"] == created_id
    assert second.message["Reply-To"] == f"support+{TOKEN}@{DOMAIN}"
    assert len({created_id, second.message["Message-ID"]}) == 2
    # Each Message-ID is in the delivery log, where In-Reply-To matching finds the ticket.
    assert {d.message_id for d in deliveries_in(notifier_sessions)} == {created_id, second.message["Message-ID"]}


def test_an_agent_reply_is_emailed_with_the_agent_name_the_quoted_thread_and_in_reply_to_the_customer(
    notifier_service, fake_tickets, publish_ticket_event, smtp_sink, notifier_sessions
):
    ticket = ticket_with_token(ticket_number="TKT-00013")
    with notifier_sessions.begin() as session:
        session.add(InboundMessage(received_at=datetime.now(timezone.utc), source="smtp", sender="kira@example.com",
                                   recipients=[f"support+{TOKEN}@{DOMAIN}"], subject="Re: [TKT-00013]",
                                   message_id="<CAF-kira-1@mail.gmail.com>", status="added",
                                   ticket_number="TKT-00013", size=100))
    first = message(ticket, "customer", body="The printer is on fire.", minutes=1, author_name="Kira")
    note = message(ticket, "agent", "internal", body="SECRET: customer is on the naughty list", minutes=5)
    reply = message(ticket, body="We replaced the toner.\nIt should be fine now.", minutes=10)
    fake_tickets.thread = [first, note, reply]
    publish_ticket_event(added(ticket, reply))
    (email,) = smtp_sink.wait_for_count(1)
    assert email.subject == "Re: [TKT-00013] Printer on fire"
    assert email.message["From"] == '"Ada Lovelace (Deskline Support)" <support@deskline.test>'
    assert email.rcpt_tos == ["kira@example.com"]
    assert email.message["In-Reply-To"] == "<CAF-kira-1@mail.gmail.com>"
    assert "<CAF-kira-1@mail.gmail.com>" in email.message["References"].split()
    assert email.message["Reply-To"] == f"support+{TOKEN}@{DOMAIN}"
    assert email.message["Auto-Submitted"] is None  # a person wrote it
    for part in (email.part("plain"), email.part("html")):
        assert "We replaced the toner." in part and "The printer is on fire." in part and "Ada Lovelace" in part
        assert "SECRET" not in part
    assert fake_tickets.calls == [(ticket["id"], False)]


def test_a_reply_with_files_names_them_and_links_the_page_they_download_from(
        notifier_service, fake_tickets, publish_ticket_event, smtp_sink):
    ticket = ticket_with_token(ticket_number="TKT-00015")
    reply = {**message(ticket, body="The fixed export is attached."), "attachments": [
        {"id": str(uuid.uuid4()), "filename": "export <2026>.csv", "content_type": "text/csv", "size": 2_097_152},
        {"id": str(uuid.uuid4()), "filename": "notes.txt", "content_type": "text/plain", "size": 300}]}
    fake_tickets.thread = [reply]
    publish_ticket_event(added(ticket, reply))
    (email,) = smtp_sink.wait_for_count(1)
    plain, html = email.part("plain"), email.part("html")
    assert "- export <2026>.csv (2.0 MB)" in plain and "- notes.txt (300 bytes)" in plain
    assert "<li>export &lt;2026&gt;.csv (2.0 MB)</li>" in html  # a file's name is text, never markup
    assert "/track-ticket/" in html.split("your ticket's page")[0].rsplit("<a href=", 1)[1]
    assert not email.message.is_multipart() or all(part.get_filename() is None for part in email.message.walk())


def test_an_internal_note_never_leaves(notifier_service, fake_tickets, publish_ticket_event, smtp_sink, notifier_sessions):
    ticket = ticket_with_token(ticket_number="TKT-00014")
    publish_ticket_event(added(ticket, message(ticket, "agent", "internal", body="SECRET note")))
    publish_ticket_event(added(ticket, message(ticket, body="Public answer", minutes=11)))
    (email,) = smtp_sink.wait_for_count(1)
    assert "Public answer" in email.part("plain")
    wait_for(lambda: len(deliveries_in(notifier_sessions)) == 1, message="one delivery")
    assert all("SECRET" not in r.part("plain") + r.part("html") for r in smtp_sink.received)
    assert [d.kind for d in deliveries_in(notifier_sessions)] == ["reply"]


def snapshot(agents):
    return {"client": {"id": CLIENT_ID, "slug": "acme", "name": "Acme", "inbound_address": f"acme@{DOMAIN}",
                       "settings": {"reopen_window_days": 14}},
            "agents": [{"id": str(uuid.uuid4()), "email": email, "name": name, "role": "agent", "active": active,
                        "notify": {"customer_messages": wants, "assignments": True}}
                       for email, name, active, wants in agents]}


def test_a_customer_message_notifies_the_opted_in_agents_once(
    notifier_service, publish_ticket_event, smtp_sink, notifier_sessions
):
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, snapshot([
            ("ada@acme.test", "Ada", True, True), ("bob@acme.test", "Bob", True, False),
            ("cy@acme.test", "Cy", False, True), ("dee@acme.test", "Dee", True, True)]))
    ticket = ticket_with_token(ticket_number="TKT-00015")
    envelope = added(ticket, message(ticket, "customer", body="Still broken!", author_name="Kira"))
    publish_ticket_event(envelope)
    publish_ticket_event(envelope)  # redelivered: exactly once per agent all the same
    emails = smtp_sink.wait_for_count(2)
    wait_for(lambda: len(deliveries_in(notifier_sessions)) == 2, message="two notices")
    assert sorted(r.rcpt_tos[0] for r in emails) == ["ada@acme.test", "dee@acme.test"]
    for received in emails:
        assert received.subject == "[TKT-00015] New message from the customer: Printer on fire"
        assert "Still broken!" in received.part("plain") and "/agent/tickets?search=TKT-00015" in received.part("plain")
        assert received.message["Reply-To"] is None  # an agent's reply to a notice must not become the customer's
    assert len(smtp_sink.received) == 2


def test_a_customer_message_on_an_assigned_ticket_notifies_the_assignee_only(
    notifier_service, publish_ticket_event, smtp_sink, notifier_sessions
):
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, snapshot([("ada@acme.test", "Ada", True, True),
                                                    ("dee@acme.test", "Dee", True, True)]))
    ticket = ticket_with_token(ticket_number="TKT-00016", assigned_to="Dee@acme.test")
    publish_ticket_event(added(ticket, message(ticket, "customer", body="Hello?")))
    (notice,) = smtp_sink.wait_for_count(1)
    assert notice.rcpt_tos == ["dee@acme.test"] and "Hello Dee," in notice.part("plain")
