"""The delivery log against the notifier's real PostgreSQL database, with a hand-written backend."""
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notifier import deliveries, emails
from services.notifier.backends import PermanentError, TransientError
from services.notifier.config import Settings
from services.notifier.models import Delivery
from shared.contracts.exceptions import Conflict, NotFound
from tests.fixtures.notifier import FAST_RETRIES, deliveries_in, ticket_envelope, ticket_payload

SETTINGS = Settings(email_backend="smtp", **FAST_RETRIES)


class ScriptedBackend:
    """Sends nothing; raises the scripted errors in turn, then accepts."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.sent = []

    def send(self, email):
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(email)
        return f"provider-{len(self.sent)}"


def created_plan(**ticket):
    return emails.plan(ticket_envelope("ticket.created", ticket_payload(**ticket)))


def record(sessions, plan, now=None):
    with sessions.begin() as session:
        return deliveries.record(session, plan, SETTINGS, now)


def attempt(sessions, backend, claim):
    return deliveries.attempt_delivery(sessions.begin, backend, SETTINGS, claim)


def claim(sessions, now=None, limit=10):
    with sessions.begin() as session:
        return deliveries.claim_due(session, SETTINGS, limit, now)


def only(sessions):
    (row,) = deliveries_in(sessions)
    return row


def test_an_event_is_recorded_once_however_often_it_arrives(notifier_sessions):
    plan = created_plan()
    first = record(notifier_sessions, plan)
    assert first == deliveries.Attempt(first.delivery_id, 1)
    assert record(notifier_sessions, plan) is None
    assert record(notifier_sessions, created_plan()) is not None  # another event: another email
    rows = deliveries_in(notifier_sessions)
    assert len(rows) == 2 and rows[0].status == "sending" and rows[0].attempts == 1
    assert rows[0].subject == "[TKT-00001] We received your request: Printer on fire"
    assert rows[0].message_id == f"<{plan.event_id}.created@deskline.test>"


def test_the_unique_key_holds_in_the_database_itself(notifier_sessions):
    record(notifier_sessions, plan := created_plan())
    with pytest.raises(sa.exc.IntegrityError), notifier_sessions.begin() as session:
        row = deliveries_in(notifier_sessions)[0]
        session.add(Delivery(**{c.name: getattr(row, c.name) for c in Delivery.__table__.columns if c.name != "id"}))
    assert plan.event_id == deliveries_in(notifier_sessions)[0].event_id


def test_no_customer_email_is_recorded_as_skipped_and_an_invalid_one_as_failed(notifier_sessions):
    assert record(notifier_sessions, created_plan(customer_email=None)) is None
    assert record(notifier_sessions, created_plan(customer_email="kira@nowhere")) is None
    skipped, failed = deliveries_in(notifier_sessions)
    assert (skipped.status, skipped.recipient, skipped.attempts) == ("skipped", None, 0)
    assert skipped.last_error == "the ticket has no customer email"
    assert (failed.status, failed.attempts) == ("failed", 0) and "invalid recipient" in failed.last_error
    assert claim(notifier_sessions, now=deliveries.utcnow() + timedelta(days=1)) == []


def test_a_successful_attempt_records_sent_with_the_provider_id(notifier_sessions):
    backend = ScriptedBackend()
    assert attempt(notifier_sessions, backend, record(notifier_sessions, created_plan())) == "sent"
    row = only(notifier_sessions)
    assert (row.status, row.provider_message_id, row.attempts) == ("sent", "provider-1", 1)
    assert row.sent_at is not None and row.next_attempt_at is None
    assert backend.sent[0].recipient_email == "kira@example.com"


def test_a_transient_failure_waits_its_back_off_then_is_claimed_again(notifier_sessions):
    backend = ScriptedBackend(TransientError("451 try later"))
    first = record(notifier_sessions, created_plan())
    assert attempt(notifier_sessions, backend, first) == "pending"
    row = only(notifier_sessions)
    assert row.attempts == 1 and row.last_error == "attempt 1: 451 try later"
    wait = (row.next_attempt_at - row.updated_at).total_seconds()
    assert SETTINGS.retry_base_seconds / 2 <= wait <= SETTINGS.retry_base_seconds
    assert claim(notifier_sessions, now=row.next_attempt_at - timedelta(milliseconds=1)) == []
    second = claim(notifier_sessions, now=row.next_attempt_at)
    assert second == [deliveries.Attempt(first.delivery_id, 2)]
    assert attempt(notifier_sessions, backend, second[0]) == "sent"
    assert len(backend.sent) == 1 and only(notifier_sessions).attempts == 2


def test_retry_after_is_honoured(notifier_sessions):
    backend = ScriptedBackend(TransientError("429", retry_after=30))
    attempt(notifier_sessions, backend, record(notifier_sessions, created_plan()))
    row = only(notifier_sessions)
    assert (row.next_attempt_at - row.updated_at).total_seconds() == pytest.approx(30, abs=0.01)


def test_a_permanent_failure_is_not_retried(notifier_sessions):
    backend = ScriptedBackend(PermanentError("550 no such user"))
    assert attempt(notifier_sessions, backend, record(notifier_sessions, created_plan())) == "failed"
    row = only(notifier_sessions)
    assert (row.status, row.next_attempt_at) == ("failed", None)
    assert claim(notifier_sessions, now=deliveries.utcnow() + timedelta(days=1)) == []


def test_attempts_are_bounded_then_the_delivery_is_dead(notifier_sessions):
    backend = ScriptedBackend(*[TransientError(f"down {n}") for n in range(10)])
    current = record(notifier_sessions, created_plan())
    statuses = []
    while current:
        statuses.append(attempt(notifier_sessions, backend, current))
        claimed = claim(notifier_sessions, now=deliveries.utcnow() + timedelta(hours=1))
        current = claimed[0] if claimed else None
    assert statuses == ["pending"] * (SETTINGS.max_attempts - 1) + ["dead"]
    row = only(notifier_sessions)
    assert (row.status, row.attempts, row.last_error) == ("dead", 4, "attempt 4: down 3")
    with notifier_sessions.begin() as session:
        assert deliveries.counts(session)["dead"] == 1


def test_an_attempt_lost_mid_send_is_sent_again_after_its_lease(notifier_sessions):
    """A crash after the send but before 'sent' was recorded: at least once, not never."""
    lost = record(notifier_sessions, created_plan())  # claimed, then the process died
    assert claim(notifier_sessions) == []  # its lease still runs
    after_lease = deliveries.utcnow() + timedelta(seconds=SETTINGS.in_flight_lease_seconds + 1)
    (again,) = claim(notifier_sessions, now=after_lease)
    assert again == deliveries.Attempt(lost.delivery_id, 2)
    backend = ScriptedBackend()
    assert attempt(notifier_sessions, backend, again) == "sent"
    assert backend.sent[0].message_id == only(notifier_sessions).message_id  # the resend is recognisable


def test_a_stale_attempt_cannot_overwrite_the_current_one_but_its_success_stands(notifier_sessions):
    stale = record(notifier_sessions, created_plan())
    later = deliveries.utcnow() + timedelta(seconds=SETTINGS.in_flight_lease_seconds + 1)
    (current,) = claim(notifier_sessions, now=later)
    with notifier_sessions.begin() as session:
        assert deliveries.record_failure(session, stale, TransientError("late"), SETTINGS) is None
    assert only(notifier_sessions).status == "sending"
    with notifier_sessions.begin() as session:
        assert deliveries.record_sent(session, stale, "late-but-sent")
    with notifier_sessions.begin() as session:
        assert deliveries.record_failure(session, current, TransientError("x"), SETTINGS) is None
    assert only(notifier_sessions).status == "sent"


def test_an_attempt_lost_on_the_last_try_is_dead_not_retried_forever(notifier_sessions):
    record(notifier_sessions, created_plan())
    with notifier_sessions.begin() as session:
        session.execute(sa.update(Delivery).values(attempts=SETTINGS.max_attempts))
    later = deliveries.utcnow() + timedelta(seconds=SETTINGS.in_flight_lease_seconds + 1)
    assert claim(notifier_sessions, now=later) == []
    with notifier_sessions.begin() as session:
        assert deliveries.expire_abandoned(session, SETTINGS, now=later) == 1
    assert only(notifier_sessions).status == "dead"


def test_concurrent_claims_never_take_the_same_delivery(notifier_sessions):
    for _ in range(6):
        record(notifier_sessions, created_plan())
    later = deliveries.utcnow() + timedelta(seconds=SETTINGS.in_flight_lease_seconds + 1)
    with notifier_sessions.begin() as first, notifier_sessions.begin() as second:
        taken_first = deliveries.claim_due(first, SETTINGS, 4, later)
        taken_second = deliveries.claim_due(second, SETTINGS, 4, later)  # skips the rows `first` locked
    ids_first = {a.delivery_id for a in taken_first}
    ids_second = {a.delivery_id for a in taken_second}
    assert len(ids_first) == 4 and len(ids_second) == 2 and not ids_first & ids_second


def test_a_template_failure_is_permanent(notifier_sessions):
    record(notifier_sessions, created_plan())
    with notifier_sessions.begin() as session:  # a context the templates cannot render
        session.execute(sa.update(Delivery).values(context={"ticket": {"ticket_number": "TKT-00001"}}))
    (broken,) = claim(notifier_sessions, now=deliveries.utcnow() + timedelta(seconds=SETTINGS.in_flight_lease_seconds + 1))
    backend = ScriptedBackend()
    assert attempt(notifier_sessions, backend, broken) == "failed"
    assert "rendering failed" in only(notifier_sessions).last_error and backend.sent == []


def test_a_tickets_log_is_listed_by_number_or_id_as_plain_json(notifier_sessions):
    ticket_id = str(uuid.uuid4())
    attempt(notifier_sessions, ScriptedBackend(), record(notifier_sessions, created_plan(id=ticket_id)))
    record(notifier_sessions, created_plan(ticket_number="TKT-00002"))
    with notifier_sessions() as session:
        by_number = deliveries.list_for_ticket(session, "tkt-00001")
        assert deliveries.list_for_ticket(session, ticket_id) == by_number
        assert deliveries.list_for_ticket(session, "TKT-09999") == []
        with pytest.raises(NotFound):
            deliveries.list_for_ticket(session, "nonsense")
    (entry,) = by_number
    assert entry["status"] == "sent" and entry["kind"] == "created" and entry["ticket_id"] == ticket_id
    assert isinstance(entry["sent_at"], str) and isinstance(entry["event_id"], str)
    assert "context" not in entry


def test_a_dead_delivery_can_be_requeued_once_fixed(notifier_sessions):
    backend = ScriptedBackend(PermanentError("550"))
    first = record(notifier_sessions, created_plan())
    attempt(notifier_sessions, backend, first)
    with notifier_sessions.begin() as session:
        assert deliveries.requeue(session, first.delivery_id)["status"] == "pending"
    with notifier_sessions.begin() as session:
        with pytest.raises(Conflict):
            deliveries.requeue(session, first.delivery_id)
        with pytest.raises(NotFound):
            deliveries.requeue(session, 999)
    (again,) = claim(notifier_sessions)
    assert again.number == 1 and attempt(notifier_sessions, backend, again) == "sent"
