"""SLA e-mails to agents: the tickets service's scheduler publishes ticket.sla_warning / sla_breached
through its outbox, the notifier e-mails the assignee, or the client's admins when nobody has the ticket
(its copy of the directory, contract B). Real tickets service, RabbitMQ, PostgreSQL and SMTP server."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notifier import directory
from services.tickets import sla_operations
from services.tickets.models import Ticket
from shared.testing import wait_for
from tests.fixtures.notifier import deliveries_in

CLIENT_ID = str(uuid.uuid4())


def agent(email, role="agent", active=True):
    return {"id": str(uuid.uuid4()), "email": email, "name": email.split("@")[0].title(), "role": role,
            "active": active, "notify": {"customer_messages": True, "assignments": True}}


@pytest.fixture
def team(notifier_sessions):
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, {
            "client": {"id": CLIENT_ID, "slug": "acme", "name": "Acme", "inbound_address": None, "settings": {}},
            "agents": [agent("ann@acme.test", "admin"), agent("bob@acme.test"), agent("cy@acme.test", "admin"),
                       agent("dan@acme.test", "admin", active=False)]})


def cross_targets(session_factory, hours):
    """Age every ticket's SLA clock by `hours`, then run the scheduler's tick: its outbox rows are relayed by
    the running tickets service (whose own timer ticks every 15 s, too slow for a test)."""
    shift = timedelta(hours=hours)
    with session_factory() as session:
        for ticket in session.scalars(sa.select(Ticket)):
            for column in AGED:
                if getattr(ticket, column) is not None:
                    setattr(ticket, column, getattr(ticket, column) - shift)
        _, events = sla_operations.tick(session)
        kinds = [event.event_type for event in events]
        session.commit()
    return kinds


AGED = ("sla_clock_started_at", "sla_first_response_due_at", "sla_first_response_warn_at", "sla_resolution_due_at",
        "sla_resolution_warn_at", "sla_due_at", "sla_next_check_at")


def test_the_assignee_is_told_of_the_warning_then_the_breach(team, tickets_rpc, notifier_service, smtp_sink,
                                                             session_factory):
    ticket = tickets_rpc.create_ticket({"title": "Site down", "description": "500s", "client_id": CLIENT_ID,
                                        "priority": "urgent", "assigned_to": "bob@acme.test"})
    number = ticket["ticket_number"]
    # Created already assigned: Bob is first told it is his (the assignment e-mail, notify.assignments).
    smtp_sink.wait_for_count(1, timeout=15)
    assert cross_targets(session_factory, 0.9) == ["ticket.sla_warning"]
    smtp_sink.wait_for_count(2, timeout=15)
    assert cross_targets(session_factory, 0.2) == ["ticket.sla_breached"]
    smtp_sink.wait_for_count(3, timeout=15)
    assigned, warning, breach = smtp_sink.for_ticket(number)
    assert assigned.subject == f"[{number}] Assigned to you: Site down"
    assert warning.rcpt_tos == breach.rcpt_tos == ["bob@acme.test"]
    assert warning.subject == f"[{number}] SLA warning: first response due soon - Site down"
    assert breach.subject == f"[{number}] SLA breached: first response target missed - Site down"
    assert "Hello Bob" in breach.part("plain") and "was missed" in breach.part("plain")
    assert f"https://desk.example.com/agent/tickets?ticket={number}" in breach.part("html")
    assert "/track-ticket/" not in breach.part("plain")  # an agent's email carries no customer tracking link
    timeline = [(h["action"], h["field"]) for h in tickets_rpc.get_history(number)]
    assert timeline == [("created", None), ("sla_warning", "first_response"), ("sla_breached", "first_response")]


def test_an_unassigned_ticket_alerts_the_active_admins_once_each(team, tickets_rpc, notifier_service, smtp_sink,
                                                                 session_factory, notifier_sessions):
    ticket = tickets_rpc.create_ticket({"title": "Billing wrong", "description": "x", "client_id": CLIENT_ID,
                                        "priority": "urgent"})
    cross_targets(session_factory, 1.5)  # straight to the breach: the stale warning is not sent
    smtp_sink.wait_for_count(2, timeout=15)
    received = smtp_sink.for_ticket(ticket["ticket_number"])
    assert sorted(r.rcpt_tos[0] for r in received) == ["ann@acme.test", "cy@acme.test"]
    assert all("Unassigned" in r.part("plain") for r in received)
    def sla_deliveries():
        rows = deliveries_in(notifier_sessions, ticket_number=ticket["ticket_number"])
        return sorted((r.kind, r.recipient, r.status) for r in rows if r.kind.startswith("sla_"))

    wait_for(lambda: sla_deliveries() == [("sla_breached", "ann@acme.test", "sent"),
                                          ("sla_breached", "cy@acme.test", "sent")], message="two sent deliveries")
