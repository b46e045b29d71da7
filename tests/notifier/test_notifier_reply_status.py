"""A public reply that also sets the status (reply and mark pending / resolved): the tickets service
publishes ticket.updated (its data names the message) then ticket.message_added. The customer gets the
reply; an "updated" email beside it would say nothing more, a "resolved" one still tells them it is
resolved. Real tickets service, notifier, RabbitMQ, PostgreSQL and SMTP server."""
from services.notifier import emails
from shared.testing import wait_for
from tests.fixtures.notifier import deliveries_in, ticket_envelope, ticket_payload

REPLY = {"visibility": "public", "author_type": "agent", "author_name": "Ada", "author_email": "ada@acme.test",
         "channel": "agent"}


def subjects(smtp_sink, number):
    return [received.subject.replace(number, "N") for received in smtp_sink.for_ticket(number)]


def test_a_reply_that_marks_pending_sends_the_reply_alone_and_one_that_resolves_adds_the_resolved_email(
        tickets_service, notifier_service, tickets_rpc, smtp_sink, notifier_sessions):
    ticket = tickets_rpc.create_ticket({"title": "Printer", "description": "On fire", "client_id": "acme",
                                        "customer_name": "Kira", "customer_email": "kira@example.com"})
    number = ticket["ticket_number"]
    smtp_sink.wait_for_count(1)
    tickets_rpc.add_message(number, {**REPLY, "body": "Is it still on fire?", "status": "pending"})
    smtp_sink.wait_for_count(2)
    tickets_rpc.add_message(number, {**REPLY, "body": "Replaced it.", "status": "resolved"})
    # The resolved email would carry (coalesced) any update still pending: once it is here, nothing else is due.
    wait_for(lambda: any("resolved" in s for s in subjects(smtp_sink, number)), timeout=15, message="resolved email")
    wait_for(lambda: len(deliveries_in(notifier_sessions, ticket_number=number, status="sent")) == 4,
             message="4 sent deliveries")
    assert sorted(subjects(smtp_sink, number)) == sorted([
        "[N] We received your request: Printer", "Re: [N] Printer", "Re: [N] Printer",
        "[N] Your ticket has been resolved: Printer"])
    kinds = sorted(row.kind for row in deliveries_in(notifier_sessions, ticket_number=number))
    assert kinds == ["created", "reply", "reply", "resolved"]


def test_only_a_status_change_that_came_with_a_reply_goes_without_an_updated_email():
    ticket = ticket_payload(status="pending")
    to_pending = {"status": {"from": "open", "to": "pending"}}

    def kind(changes, ticket=ticket, **data):
        envelope = ticket_envelope("ticket.updated", ticket, changes)
        envelope["data"].update(data)
        plan = emails.plan(envelope)
        return plan and plan.kind

    assert kind(to_pending, message_id=7) is None
    assert kind(to_pending) == emails.UPDATED  # an agent changing the status alone: the customer is told
    # A reply that also changes something else the customer sees: the update is news.
    assert kind({**to_pending, "priority": {"from": "medium", "to": "urgent"}}, message_id=7) == emails.UPDATED
    resolved = ticket_payload(status="resolved")
    assert kind({"status": {"from": "pending", "to": "resolved"}}, ticket=resolved, message_id=7) == emails.RESOLVED
