"""The assignee's e-mail (issue 14): sent when someone else assigns a ticket to an agent who keeps the
preference on (the directory, contract B), never for assigning oneself; a bulk assignment e-mails the
assignee once per ticket and the customers nothing (an assignment is internal). Real tickets service,
RabbitMQ, PostgreSQL and an SMTP server of ours."""
import uuid

import pytest

from services.notifier import directory
from shared.testing import wait_for

CLIENT = str(uuid.uuid4())


def agent(email, name, assignments=True, active=True):
    return {"id": str(uuid.uuid4()), "email": email, "name": name, "role": "agent", "active": active,
            "notify": {"customer_messages": True, "assignments": assignments}}


@pytest.fixture
def team(notifier_service, notifier_sessions):
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, {
            "client": {"id": CLIENT, "slug": "acme", "name": "Acme", "inbound_address": "acme@support.test",
                       "settings": {}},
            "agents": [agent("ann@acme.test", "Ann Lead"), agent("bob@acme.test", "Bob <Builder>"),
                       agent("cy@acme.test", "Cy", assignments=False), agent("dee@acme.test", "Dee", active=False)],
        })


def create(tickets_rpc, **fields):
    return tickets_rpc.create_ticket({"title": "Printer on fire", "description": "It is on fire.", "client_id": CLIENT,
                                      "customer_email": "kira@example.com", **fields})


def to(smtp_sink, address):
    return [received for received in smtp_sink.received if received.rcpt_tos == [address]]


def test_the_assignee_hears_when_someone_else_assigns_a_ticket(tickets_rpc, team, smtp_sink):
    ticket = create(tickets_rpc)
    number = ticket["ticket_number"]
    smtp_sink.wait_for_count(1)  # the customer's "we received your request"
    tickets_rpc.update_ticket(number, {"assigned_to": "bob@acme.test"}, actor="ann@acme.test", client_id=CLIENT)
    wait_for(lambda: to(smtp_sink, "bob@acme.test"), message="the assignee's email")
    email = to(smtp_sink, "bob@acme.test")[0]
    assert email.subject == f"[{number}] Assigned to you: Printer on fire"
    assert "Ann Lead assigned " + number in email.part("plain")
    assert f"https://desk.example.com/agent/tickets?ticket={number}" in email.part("plain")
    assert "Bob &lt;Builder&gt;" in email.part("html")  # the agent's name, escaped in HTML
    # Taking a ticket oneself, an agent who turned the preference off, a deactivated agent, a stranger: nothing.
    tickets_rpc.update_ticket(number, {"assigned_to": "ann@acme.test"}, actor="ann@acme.test", client_id=CLIENT)
    for assignee in ("cy@acme.test", "dee@acme.test", "eve@elsewhere.test"):
        tickets_rpc.update_ticket(number, {"assigned_to": assignee}, actor="ann@acme.test", client_id=CLIENT)
    # A later assignment to Bob is a new email: the marker that nothing else was sent.
    tickets_rpc.update_ticket(number, {"assigned_to": "bob@acme.test"}, actor="cy@acme.test", client_id=CLIENT)
    wait_for(lambda: len(to(smtp_sink, "bob@acme.test")) == 2, message="the second assignment email")
    assert {tuple(r.rcpt_tos) for r in smtp_sink.received} == {("kira@example.com",), ("bob@acme.test",)}
    assert "Cy assigned" in to(smtp_sink, "bob@acme.test")[1].part("plain")


def test_a_ticket_created_assigned_to_someone_else_tells_them(tickets_rpc, team, smtp_sink):
    create(tickets_rpc, assigned_to="bob@acme.test", created_by="ann@acme.test")
    create(tickets_rpc, assigned_to="ann@acme.test", created_by="ann@acme.test")
    wait_for(lambda: to(smtp_sink, "bob@acme.test"), message="the assignee's email")
    smtp_sink.wait_for_count(3)  # two customers' emails and Bob's
    assert to(smtp_sink, "ann@acme.test") == []


def test_a_bulk_assignment_emails_the_assignee_per_ticket_and_each_customer_at_most_once(tickets_rpc, team, smtp_sink):
    numbers = [create(tickets_rpc, customer_email=f"c{i}@example.com")["ticket_number"] for i in range(5)]
    smtp_sink.wait_for_count(5)
    result = tickets_rpc.bulk_update({"tickets": numbers, "changes": {"assigned_to": "bob@acme.test", "priority": "high"}},
                                     actor="ann@acme.test", client_id=CLIENT)
    assert result["changed"] == 5
    wait_for(lambda: len(to(smtp_sink, "bob@acme.test")) == 5, message="five assignment emails")
    # Each customer: the creation email and one update email (the priority), whatever the batch held.
    wait_for(lambda: all(len(to(smtp_sink, f"c{i}@example.com")) == 2 for i in range(5)), message="one update email each")
    assert sorted(r.subject.split("]")[0][1:] for r in to(smtp_sink, "bob@acme.test")) == numbers
    tickets_rpc.bulk_update({"tickets": numbers, "changes": {"assigned_to": "bob@acme.test"}}, actor="ann@acme.test",
                            client_id=CLIENT)  # already his: no change, no event, no email
    tickets_rpc.update_ticket(numbers[0], {"assigned_to": "bob@acme.test", "category": "billing"}, actor="bob@acme.test",
                              client_id=CLIENT)
    wait_for(lambda: len(to(smtp_sink, "c0@example.com")) == 3, message="the marker update")
    assert len(to(smtp_sink, "bob@acme.test")) == 5
    assert all(len(to(smtp_sink, f"c{i}@example.com")) == 2 for i in range(1, 5))
