"""What a customer is told of updates, and when: only customer-visible changes (never an
assignment), quick successive edits in one email, a change and its revert in none, a resolution at
once. The running notifier with the real tickets service, RabbitMQ, PostgreSQL and an SMTP server;
the coalescing functions against the real database."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.notifier import coalescing, emails
from services.notifier.config import Settings
from services.notifier.models import MergedEvent, PendingUpdate
from services.notifier.service import NotifierService
from shared.testing import wait_for
from tests.fixtures.notifier import FAST_RETRIES, deliveries_in, ticket_envelope, ticket_payload

NEW = {"title": "Printer on fire", "description": "It is on fire.", "client_id": "acme",
       "customer_name": "Kira", "customer_email": "kira@example.com", "priority": "high"}


def with_window(notifier_config, seconds):
    return {**notifier_config, "NOTIFIER": {**notifier_config["NOTIFIER"], "update_coalesce_seconds": seconds}}


@pytest.fixture
def start_notifier(container_factory, notifier_config):
    """Start a notifier (another instance on each call) whose update window is `window` seconds."""
    def start(window):
        container = container_factory(NotifierService, with_window(notifier_config, window))
        container.start()
        return container
    return start


def change_lines(received):
    return [line.strip() for line in received.part("plain").splitlines() if "->" in line]


def rows(notifier_sessions, model, **filters):
    with notifier_sessions() as session:
        return list(session.scalars(sa.select(model).filter_by(**filters)))


def settled(notifier_sessions, ticket_id, merged):
    """The notifier has merged `merged` events of the ticket and its pending email is gone."""
    return (len(rows(notifier_sessions, MergedEvent, ticket_id=ticket_id)) >= merged
            and not rows(notifier_sessions, PendingUpdate, ticket_id=ticket_id))


def test_an_assignment_alone_sends_no_email(start_notifier, tickets_rpc, smtp_sink, notifier_sessions):
    start_notifier(0.2)
    first = tickets_rpc.create_ticket(NEW)
    other = tickets_rpc.create_ticket({**NEW, "customer_email": "olga@example.com"})
    smtp_sink.wait_for_count(2)
    tickets_rpc.update_ticket(first["ticket_number"], {"assigned_to": "admin@example.com"}, actor="admin")
    # A barrier: the update queue is consumed in order, so once this later event's email is out,
    # the assignment has been handled.
    tickets_rpc.update_ticket(other["ticket_number"], {"priority": "urgent", "assigned_to": "admin@example.com"})
    wait_for(lambda: len(smtp_sink.for_ticket(other["ticket_number"])) == 2, message="the barrier's email")

    assert [r.subject for r in smtp_sink.for_ticket(first["ticket_number"])] == [
        f"[{first['ticket_number']}] We received your request: Printer on fire"]
    assert not rows(notifier_sessions, PendingUpdate, ticket_id=uuid.UUID(first["id"]))
    barrier = smtp_sink.for_ticket(other["ticket_number"])[1]
    assert change_lines(barrier) == ["• Priority: HIGH -> URGENT"]
    for part in (barrier.part("plain"), barrier.part("html")):
        assert "admin@example.com" not in part and "Assigned" not in part


def test_two_quick_edits_make_one_email_with_both_changes_and_the_last_state(
    start_notifier, tickets_rpc, smtp_sink, notifier_sessions
):
    start_notifier(1.0)
    ticket = tickets_rpc.create_ticket(NEW)
    number = ticket["ticket_number"]
    smtp_sink.wait_for_count(1)
    edited = time.time()
    tickets_rpc.update_ticket(number, {"status": "in_progress"}, actor="ann")
    tickets_rpc.update_ticket(number, {"priority": "urgent", "title": "Printer still on fire"}, actor="bob")
    wait_for(lambda: settled(notifier_sessions, uuid.UUID(ticket["id"]), 2) and
             [d for d in deliveries_in(notifier_sessions, kind="updated") if d.status == "sent"],
             message="the update email sent")

    created, updated = smtp_sink.for_ticket(number)
    assert updated.received_at - edited >= 1.0  # it waited out the window
    assert updated.subject == f"[{number}] Your ticket has been updated: Printer still on fire"
    assert change_lines(updated) == ["• Status: OPEN -> IN PROGRESS", "• Priority: HIGH -> URGENT",
                                     "• Issue title: Printer on fire -> Printer still on fire"]
    text = updated.part("plain")
    assert "✅ Status: IN PROGRESS" in text and "⚡ Priority: URGENT" in text
    assert "Last updated: " in text and " UTC" in text
    assert len(smtp_sink.received) == 2


def test_a_change_and_its_revert_send_no_email(start_notifier, tickets_rpc, smtp_sink, notifier_sessions):
    start_notifier(0.5)
    ticket = tickets_rpc.create_ticket(NEW)
    smtp_sink.wait_for_count(1)
    tickets_rpc.update_ticket(ticket["ticket_number"], {"priority": "urgent"})
    tickets_rpc.update_ticket(ticket["ticket_number"], {"priority": "high"})
    wait_for(lambda: settled(notifier_sessions, uuid.UUID(ticket["id"]), 2), message="both edits merged and due")
    assert len(smtp_sink.received) == 1
    assert [d.kind for d in deliveries_in(notifier_sessions)] == ["created"]


def test_a_resolution_inside_the_window_goes_out_at_once_and_tells_the_pending_changes(
    start_notifier, tickets_rpc, smtp_sink, notifier_sessions
):
    start_notifier(30)  # far longer than the test: the update alone would not be sent
    ticket = tickets_rpc.create_ticket(NEW)
    number = ticket["ticket_number"]
    smtp_sink.wait_for_count(1)
    started = time.monotonic()
    tickets_rpc.update_ticket(number, {"priority": "urgent", "status": "in_progress"})
    tickets_rpc.update_ticket(number, {"status": "resolved", "resolution_notes": "Replaced the toner."})
    smtp_sink.wait_for_count(2)
    assert time.monotonic() - started < 30

    resolved = smtp_sink.for_ticket(number)[1]
    assert resolved.subject == f"[{number}] Your ticket has been resolved: Printer on fire"
    assert change_lines(resolved) == ["• Priority: HIGH -> URGENT"]  # the status is the email's news
    assert "Replaced the toner." in resolved.part("plain")
    assert not rows(notifier_sessions, PendingUpdate)  # nothing left to send it again
    assert [d.kind for d in deliveries_in(notifier_sessions)] == ["created", "resolved"]


def test_two_notifier_instances_send_each_coalesced_email_once(
    start_notifier, tickets_rpc, smtp_sink, notifier_sessions
):
    start_notifier(0.3)
    start_notifier(0.3)
    tickets = [tickets_rpc.create_ticket({**NEW, "title": f"Ticket {n}"}) for n in range(10)]
    smtp_sink.wait_for_count(10)
    for ticket in tickets:
        tickets_rpc.update_ticket(ticket["ticket_number"], {"status": "in_progress"})
        tickets_rpc.update_ticket(ticket["ticket_number"], {"priority": "low"})
    wait_for(lambda: len([d for d in deliveries_in(notifier_sessions, kind="updated") if d.status == "sent"]) == 10,
             timeout=20, message="ten update emails")
    wait_for(lambda: not rows(notifier_sessions, PendingUpdate), message="no pending email")
    updates = [r for r in smtp_sink.received if "has been updated" in r.subject]
    assert len(updates) == 10 and len({r.message["Message-ID"] for r in updates}) == 10
    for received in updates:
        assert change_lines(received) == ["• Status: OPEN -> IN PROGRESS", "• Priority: HIGH -> LOW"]


def test_a_pending_update_outlives_a_notifier_restart(start_notifier, tickets_rpc, smtp_sink, notifier_sessions):
    first = start_notifier(1.0)
    ticket = tickets_rpc.create_ticket(NEW)
    smtp_sink.wait_for_count(1)
    tickets_rpc.update_ticket(ticket["ticket_number"], {"status": "pending"})
    wait_for(lambda: rows(notifier_sessions, PendingUpdate), message="the update held")
    first.kill()  # before the window ends, without a chance to flush anything
    assert len(smtp_sink.received) == 1
    start_notifier(1.0)
    smtp_sink.wait_for_count(2)
    assert change_lines(smtp_sink.received[1]) == ["• Status: OPEN -> PENDING"]


def test_a_redelivered_update_is_merged_once(start_notifier, publish_ticket_event, smtp_sink, notifier_sessions):
    start_notifier(0.3)
    ticket = ticket_payload(status="in_progress")
    envelope = ticket_envelope("ticket.updated", ticket, changes={"status": {"from": "open", "to": "in_progress"}})
    publish_ticket_event(envelope)
    smtp_sink.wait_for_count(1)
    publish_ticket_event(envelope)  # after its email went out: still nothing more
    publish_ticket_event(ticket_envelope(  # a barrier on the same queue
        "ticket.updated", ticket_payload(ticket_number="TKT-00002", priority="low"),
        changes={"priority": {"from": "medium", "to": "low"}},
    ))
    wait_for(lambda: len(smtp_sink.received) == 2, message="the barrier's email")
    assert [r.subject.split("]")[0] for r in smtp_sink.received] == ["[TKT-00001", "[TKT-00002"]


# ---------------------------------------------------------------- the merge rules, on the database

def settings(window=60):
    return Settings(**{**FAST_RETRIES, "update_coalesce_seconds": window})


def update_plan(ticket_id, at, changes, **ticket):
    payload = ticket_payload(id=str(ticket_id), updated_at=at.isoformat(), **ticket)
    return emails.plan(ticket_envelope("ticket.updated", payload, changes=changes))


def test_events_merged_out_of_order_give_the_first_value_and_the_last(notifier_sessions):
    ticket_id, t0 = uuid.uuid4(), datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    later = update_plan(ticket_id, t0 + timedelta(seconds=2), {"status": {"from": "in_progress", "to": "pending"}},
                        status="pending", title="Newest title")
    earlier = update_plan(ticket_id, t0, {"status": {"from": "open", "to": "in_progress"}}, status="in_progress")
    with notifier_sessions.begin() as session:
        assert coalescing.hold(session, later, settings(), now=t0)
        assert coalescing.hold(session, earlier, settings(), now=t0)
        assert not coalescing.hold(session, earlier, settings(), now=t0)  # the same event again
    with notifier_sessions.begin() as session:
        assert coalescing.claim_due(session, 10, now=t0 + timedelta(seconds=59)) == (0, [])
        taken, (plan,) = coalescing.claim_due(session, 10, now=t0 + timedelta(seconds=60))
    assert taken == 1
    assert plan.context["changes"] == {"status": {"from": "open", "to": "pending"}}
    assert plan.context["ticket"]["status"] == "pending" and plan.context["ticket"]["title"] == "Newest title"
    assert plan.event_id == later.event_id  # the first merged names the email
    assert not rows(notifier_sessions, PendingUpdate)


def test_a_claimed_pending_email_is_skipped_by_another_claim(notifier_sessions, notifier_engine):
    t0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    with notifier_sessions.begin() as session:
        coalescing.hold(session, update_plan(uuid.uuid4(), t0, {"priority": {"from": "low", "to": "high"}}),
                        settings(0), now=t0)
    with notifier_sessions() as first, notifier_sessions() as second:
        taken, plans = coalescing.claim_due(first, 10, now=t0)
        assert taken == 1 and len(plans) == 1
        assert coalescing.claim_due(second, 10, now=t0) == (0, [])  # locked: skipped, not waited for
        first.commit()
        second.rollback()


def test_an_update_after_the_email_went_out_starts_a_new_one(notifier_sessions):
    ticket_id, t0 = uuid.uuid4(), datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    with notifier_sessions.begin() as session:
        coalescing.hold(session, update_plan(ticket_id, t0, {"priority": {"from": "low", "to": "high"}}), settings(), t0)
        coalescing.claim_due(session, 10, now=t0 + timedelta(minutes=1))
        coalescing.hold(session, update_plan(ticket_id, t0 + timedelta(minutes=2),
                                             {"priority": {"from": "high", "to": "low"}}), settings(), t0)
    (pending,) = rows(notifier_sessions, PendingUpdate)
    assert coalescing.net_changes(pending.changes) == {"priority": {"from": "high", "to": "low"}}


def test_old_merged_event_ids_are_forgotten(notifier_sessions):
    t0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    with notifier_sessions.begin() as session:
        coalescing.hold(session, update_plan(uuid.uuid4(), t0, {"priority": {"from": "low", "to": "high"}}), settings(), t0)
        assert coalescing.forget_old_events(session, now=t0 + timedelta(days=6)) == 0
        assert coalescing.forget_old_events(session, now=t0 + timedelta(days=8)) == 1


def test_a_negative_window_is_refused():
    with pytest.raises(Exception, match="NOTIFIER_UPDATE_COALESCE_SECONDS"):
        Settings(update_coalesce_seconds=-1).check()
