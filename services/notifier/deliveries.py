"""The delivery log: what each event owes, claiming attempts, recording outcomes, retry timing.

Functions over a SQLAlchemy session (no broker), plus `attempt_delivery`, which sends one claimed
delivery through a backend between two short transactions (no transaction is held open while a
mail server is talked to).
"""
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from shared.contracts.exceptions import Conflict, NotFound
from shared.contracts.ticket_numbers import format_ticket_number, parse_ref
from shared.platform.consumers import is_transient

from . import agent_emails, assignments, emails, mailthread, sla_emails, sms, transcripts
from .backends import DeliveryError, PermanentError, TransientError
from .models import DEAD, DELIVERY_STATUSES, FAILED, OPEN_STATUSES, PENDING, SENDING, SENT, SKIPPED, Delivery
from .schemas import dump_deliveries, dump_delivery
from .webhooks import emails as webhook_emails

log = logging.getLogger(__name__)

ERROR_MAX = 2000
RECORD_RETRY_SECONDS = 0.5  # between attempts to record an outcome while the database is away


@dataclass(frozen=True)
class Job:
    """What an attempt renders and sends, carried with the claim (no reading the row back)."""

    kind: str
    context: dict
    recipient: str
    event_id: uuid.UUID


@dataclass(frozen=True)
class Attempt:
    """A claim on one delivery: its id and which attempt this is (the claim's fencing token)."""

    delivery_id: int
    number: int
    job: Job | None = field(default=None, compare=False)


def utcnow():
    return datetime.now(timezone.utc)


def retry_delay(attempts, settings, retry_after=None, rand=random.random):
    """Seconds to wait after `attempts` failed tries: exponential, capped, with "equal jitter"
    (half fixed, half random) so a burst of failures does not retry in lockstep; never sooner
    than the server's Retry-After."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + rand() * ceiling / 2
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def record(session, plan, settings, now=None, claim=True):
    """Write the delivery row for `plan` unless this event's email is already recorded.

    Returns the Attempt to make right away (the row is written already claimed, as attempt 1),
    or None: the event was seen before (a redelivery), or there is nobody to email. With
    `claim=False` (a process that sends no mail itself: webhooks) the row waits, due now, for the
    notifier's retry timer.
    """
    now = now or utcnow()
    is_sms = plan.kind in sms.KINDS
    recipient = sms.normalize_phone(plan.recipient) if is_sms else emails.normalize_address(plan.recipient)
    values = dict(
        event_id=plan.event_id, event_type=plan.event_type, kind=plan.kind,
        ticket_id=plan.ticket_id, ticket_number=plan.ticket_number,
        recipient=recipient or (plan.recipient or None),
        subject=plan.subject or emails.subject_of(plan.kind, plan.context, settings),
        context=plan.context,
        message_id=emails.message_id_for(plan.event_id, plan.kind, settings.sender_email),
        occurred_at=plan.occurred_at, created_at=now, updated_at=now,
    )
    if not (plan.recipient or "").strip():
        values.update(status=SKIPPED, attempts=0, last_error="the ticket has no customer email")
    elif recipient is None:
        values.update(status=FAILED, attempts=0,
                      last_error=f"invalid recipient {'number' if is_sms else 'address'}: {plan.recipient!r}")
    elif not claim:
        values.update(status=PENDING, attempts=0, next_attempt_at=now)
    else:
        lease = now + timedelta(seconds=settings.in_flight_lease_seconds)
        values.update(status=SENDING, attempts=1, next_attempt_at=lease)
        if plan.kind in mailthread.CUSTOMER_KINDS:
            # The thread as it stands when the email is owed: every attempt sends the same headers.
            context = emails.with_tracking_link(plan.context, plan.ticket_number, recipient, settings)
            values["context"] = {**context, "threading": mailthread.headers_for(
                session, plan.ticket_number, plan.ticket_id, values["message_id"], settings)}
        elif plan.kind == transcripts.CHAT_TRANSCRIPT:
            values["context"] = transcripts.with_links(plan.context, recipient, settings)
    statement = (
        insert(Delivery).values(**values)
        .on_conflict_do_nothing(constraint="uq_deliveries_event_kind")
        .returning(Delivery.id)
    )
    delivery_id = session.execute(statement).scalar_one_or_none()
    if delivery_id is None:
        log.info("notifier: event %s already recorded (%s): nothing more to send", plan.event_id, plan.kind)
        return None
    if values["status"] != SENDING:
        return None
    return Attempt(delivery_id, 1, Job(plan.kind, values["context"], recipient, plan.event_id))


def claim_due(session, settings, limit, now=None):
    """Claim deliveries whose next attempt is due: waiting retries, and attempts whose lease ran
    out (their process died mid-send: sent again, at least once). SKIP LOCKED shares the work
    between instances; the claim itself is committed before anything is sent."""
    now = now or utcnow()
    due = (
        sa.select(Delivery.id)
        .where(
            Delivery.status.in_(OPEN_STATUSES),
            Delivery.next_attempt_at <= now,
            Delivery.attempts < settings.max_attempts,
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        sa.update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(
            status=SENDING, attempts=Delivery.attempts + 1, updated_at=now,
            next_attempt_at=now + timedelta(seconds=settings.in_flight_lease_seconds),
        )
        .returning(
            Delivery.id, Delivery.attempts, Delivery.kind, Delivery.context, Delivery.recipient, Delivery.event_id
        )
        .execution_options(synchronize_session=False)
    )
    return [Attempt(row.id, row.attempts, Job(row.kind, row.context, row.recipient, row.event_id)) for row in rows]


def expire_abandoned(session, settings, now=None):
    """Attempts lost with their process on the last allowed try: dead, not tried forever."""
    now = now or utcnow()
    result = session.execute(
        sa.update(Delivery)
        .where(
            Delivery.status == SENDING,
            Delivery.next_attempt_at <= now,
            Delivery.attempts >= settings.max_attempts,
        )
        .values(
            status=DEAD, next_attempt_at=None, updated_at=now,
            last_error=f"attempt lost with its process after {settings.max_attempts} attempts; outcome unknown",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def record_sent(session, attempt, provider_message_id, now=None):
    """Mark sent, whichever attempt succeeded (a success always stands); False if it already was."""
    now = now or utcnow()
    result = session.execute(
        sa.update(Delivery)
        .where(Delivery.id == attempt.delivery_id, Delivery.status != SENT)
        .values(
            status=SENT, sent_at=now, updated_at=now, next_attempt_at=None,
            provider_message_id=provider_message_id,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def record_failure(session, attempt, error, settings, now=None, rand=random.random):
    """Failed for good, dead after the last attempt, or pending until its back-off ends.

    Only the current attempt may record a failure (a stale one, outlived by its lease, may not);
    returns the new status, or None for a stale attempt.
    """
    now = now or utcnow()
    values = {"updated_at": now, "last_error": f"attempt {attempt.number}: {error}"[:ERROR_MAX]}
    if error.permanent:
        values.update(status=FAILED, next_attempt_at=None)
    elif attempt.number >= settings.max_attempts:
        values.update(status=DEAD, next_attempt_at=None)
    else:
        delay = retry_delay(attempt.number, settings, error.retry_after, rand)
        values.update(status=PENDING, next_attempt_at=now + timedelta(seconds=delay))
    result = session.execute(
        sa.update(Delivery)
        .where(
            Delivery.id == attempt.delivery_id,
            Delivery.attempts == attempt.number,
            Delivery.status == SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return values["status"] if result.rowcount == 1 else None


def attempt_delivery(session_scope, backend, settings, attempt):
    """Render and send one claimed delivery, then record how it went; returns the new status.

    `session_scope()` is a context manager giving a session that commits on exit. A crash
    between the send and the second commit leaves the row 'sending': once its lease ends the
    retry timer sends it again, with the same Message-ID (at least once, never lost).
    """
    job = attempt.job
    provider_message_id, error = None, None
    compose = (sms.compose if job.kind in sms.KINDS
               else agent_emails.compose if job.kind in agent_emails.KINDS
               else webhook_emails.compose if job.kind in webhook_emails.KINDS
               else assignments.compose if job.kind in assignments.KINDS
               else sla_emails.compose if job.kind in sla_emails.KINDS.values() else emails.compose)
    try:
        email = compose(job.kind, job.context, job.recipient, job.event_id, settings)
    except Exception as exc:  # a template bug: the same on every try, so not worth retrying
        log.exception("notifier: rendering delivery %s failed", attempt.delivery_id)
        error = PermanentError(f"rendering failed: {exc!r}")
    else:
        try:
            provider_message_id = backend.send(email)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # unforeseen: retry, bounded by max_attempts
            log.exception("notifier: unexpected error sending delivery %s", attempt.delivery_id)
            error = TransientError(f"unexpected error: {exc!r}")
    def record(session):
        if error is None:
            record_sent(session, attempt, provider_message_id)
            return SENT
        return record_failure(session, attempt, error, settings)

    # The outcome is known: keep it through a short database outage rather than leave the row 'sending'
    # (a sent email would go out again after the lease). Within the lease, so no other attempt is running.
    deadline = time.monotonic() + settings.in_flight_lease_seconds - settings.send_timeout
    while True:
        try:
            with session_scope() as session:
                status = record(session)
            break
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() > deadline:
                raise
            log.warning("notifier: recording delivery %s attempt %s failed, retrying: %r",
                        attempt.delivery_id, attempt.number, exc)
            time.sleep(RECORD_RETRY_SECONDS)
    if status == SENT:
        return SENT
    log.warning(
        "notifier: delivery %s attempt %s failed (%s): %s",
        attempt.delivery_id, attempt.number, status or "superseded", error,
    )
    return status


def _ticket_filter(ref):
    parsed = parse_ref(ref)
    if parsed is None:
        raise NotFound(f"not a ticket number or id: {ref!r}")
    kind, value = parsed
    if kind == "number":
        return Delivery.ticket_number == format_ticket_number(value)
    return Delivery.ticket_id == value


def list_for_ticket(session, ref):
    """A ticket's delivery log (by number or id), oldest first; empty if it owes no email yet."""
    rows = session.scalars(sa.select(Delivery).where(_ticket_filter(ref)).order_by(Delivery.id))
    return dump_deliveries(rows)


def counts(session):
    """How many deliveries are in each status (dead and failed ones are the ones to watch)."""
    found = dict(session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())
    return {status: found.get(status, 0) for status in DELIVERY_STATUSES}


def requeue(session, delivery_id, now=None):
    """Try a failed or dead delivery again from scratch (after the cause was fixed)."""
    now = now or utcnow()
    row = session.get(Delivery, delivery_id, with_for_update=True)
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    valid = sms.normalize_phone(row.recipient) if row.kind in sms.KINDS else emails.normalize_address(row.recipient)
    if row.status not in (FAILED, DEAD) or valid is None:
        raise Conflict(f"delivery {delivery_id} is {row.status}: only a failed or dead one with a valid address")
    row.status, row.attempts, row.next_attempt_at, row.updated_at = PENDING, 0, now, now
    session.flush()
    return dump_delivery(row)
