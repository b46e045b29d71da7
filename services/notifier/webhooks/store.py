"""Webhook endpoints and their delivery log: plain functions over a SQLAlchemy session (no broker, no
HTTP), each taking `now` so that tests drive 24 hours of retries without waiting them.

A delivery is owed once per (endpoint, event) (a redelivered event adds nothing). It is claimed (status
'sending', a lease in next_attempt_at, `attempts` the fencing token) in one short transaction, sent with no
transaction open, and its outcome recorded in another: the attempt logged, the delivery delivered or
pending until its back-off ends (exponential, capped, with jitter) or dead once its retry window (24 h)
is over. An endpoint whose attempts have all failed for DISABLE_AFTER (24 h) is switched off, its open
deliveries end, and its client's admins are e-mailed (through the notifier's delivery log).
"""
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from marshmallow import ValidationError as SchemaError
from sqlalchemy.dialects.postgresql import insert

from shared.contracts.events import MalformedEvent, make_envelope, parse_envelope
from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.contracts.webhook_schemas import (
    WEBHOOK_CREATE,
    WEBHOOK_TEST,
    WEBHOOK_UPDATE,
    WebhookAttemptSchema,
    WebhookDeliverySchema,
    WebhookSchema,
    wants,
)

from .. import deliveries as email_deliveries
from ..models import (
    WEBHOOK_DEAD,
    WEBHOOK_DELIVERED,
    WEBHOOK_OPEN,
    WEBHOOK_PENDING,
    WEBHOOK_SENDING,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from . import emails as webhook_emails
from .guard import static_problem
from .signing import new_secret

ERROR_MAX = 1000
LOG_LIMIT = 50
ATTEMPTS_SHOWN = 10
MAX_ENDPOINTS_PER_CLIENT = 20


@dataclass(frozen=True)
class Claim:
    """What one attempt sends, carried with the claim (no reading the row back)."""

    delivery_id: int
    number: int
    endpoint_id: uuid.UUID
    url: str
    secret: str
    event_type: str
    body: str
    # The endpoint was failing when claimed: a success then ends its failure streak.
    failing: bool = True


def utcnow():
    return datetime.now(timezone.utc)


def retry_delay(attempts, settings, rand=random.random):
    """Seconds before the next try after `attempts` failures: base * 2**(n-1), capped, "equal jitter"."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + rand() * ceiling / 2


# -- endpoints (the admins' API) --

def _load(schema, data):
    try:
        return schema.load(data if isinstance(data, dict) else {})
    except SchemaError as exc:
        raise ValidationError(exc.messages) from None


def _check_url(url, settings):
    from urllib.parse import urlsplit

    problem = static_problem(urlsplit(url).hostname or "", settings.allow_private)
    if problem:
        raise ValidationError({"url": [problem]})


def _dump_endpoint(row):
    data = WebhookSchema().dump(row)
    data["secret_hint"] = row.secret[-4:]
    return data


def _endpoint(session, client_id, endpoint_id, lock=False):
    try:
        endpoint_uuid = uuid.UUID(str(endpoint_id))
    except ValueError:
        raise NotFound(f"webhook {endpoint_id} not found") from None
    row = session.get(WebhookEndpoint, endpoint_uuid, with_for_update=lock)
    if row is None or row.client_id != str(client_id):
        raise NotFound(f"webhook {endpoint_id} not found")
    return row


def list_endpoints(session, client_id):
    rows = session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.client_id == str(client_id))
                           .order_by(WebhookEndpoint.created_at))
    return [_dump_endpoint(row) for row in rows]


def create_endpoint(session, client_id, data, actor, settings, now=None):
    """A new endpoint; the answer alone carries its secret."""
    now = now or utcnow()
    values = _load(WEBHOOK_CREATE, data)
    _check_url(values["url"], settings)
    count = session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)
                           .where(WebhookEndpoint.client_id == str(client_id)))
    if count >= MAX_ENDPOINTS_PER_CLIENT:
        raise Conflict(f"a client may have at most {MAX_ENDPOINTS_PER_CLIENT} webhooks")
    row = WebhookEndpoint(id=uuid.uuid4(), client_id=str(client_id), url=values["url"],
                          events=list(dict.fromkeys(values["events"])), active=values["active"], secret=new_secret(),
                          created_by=actor, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return {**_dump_endpoint(row), "secret": row.secret}


def update_endpoint(session, client_id, endpoint_id, data, settings, now=None):
    """Change url, events or active; switching it on again starts a fresh failure streak."""
    now = now or utcnow()
    values = _load(WEBHOOK_UPDATE, data)
    row = _endpoint(session, client_id, endpoint_id, lock=True)
    if "url" in values:
        _check_url(values["url"], settings)
        row.url = values["url"]
    if "events" in values:
        row.events = list(dict.fromkeys(values["events"]))
    if "active" in values:
        if values["active"] and not row.active:
            row.failing_since, row.disabled_at, row.disabled_reason = None, None, None
        row.active = values["active"]
    row.updated_at = now
    session.flush()
    return _dump_endpoint(row)


def delete_endpoint(session, client_id, endpoint_id):
    session.delete(_endpoint(session, client_id, endpoint_id, lock=True))
    session.flush()


# -- what an event owes --

def client_of(data):
    """The client an event belongs to: its ticket's, its conversation's, or its own `client_id`."""
    for key in ("ticket", "conversation"):
        found = data.get(key)
        if isinstance(found, dict) and found.get("client_id"):
            return str(found["client_id"])
    return str(data["client_id"]) if data.get("client_id") else None


def body_of(envelope):
    """The exact bytes every attempt sends: the envelope as published, compact JSON."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def record_event(session, payload, claim_limit, settings, now=None):
    """A delivery per active endpoint of the event's client that wants it; the new ones (at most
    `claim_limit`) come back already claimed, to send at once; the rest wait for the timer.
    A redelivered event finds its rows and owes nothing more. MalformedEvent if it is not an event."""
    now = now or utcnow()
    envelope = parse_envelope(payload)
    client_id = client_of(envelope["data"])
    if client_id is None:
        raise MalformedEvent(f"event {envelope['event_id']} names no client")
    endpoints = session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.client_id == client_id, WebhookEndpoint.active))
    chosen = [endpoint for endpoint in endpoints if wants(endpoint.events, envelope["event_type"])]
    if not chosen:
        return []
    # The body is what was published (plain JSON values), not the parsed copy.
    body = body_of(payload)
    return _insert(session, chosen, envelope["event_id"], envelope["event_type"], body, claim_limit, settings, now)


def _insert(session, endpoints, event_id, event_type, body, claim_limit, settings, now):
    lease = now + timedelta(seconds=settings.lease_seconds)
    claims = []
    for endpoint in endpoints:
        # A failing endpoint's new deliveries wait for the timer: its retries are paced, not every event's.
        claim = len(claims) < claim_limit and endpoint.failing_since is None
        statement = (
            insert(WebhookDelivery).values(
                endpoint_id=endpoint.id, event_id=event_id, event_type=event_type, body=body,
                status=WEBHOOK_SENDING if claim else WEBHOOK_PENDING, attempts=1 if claim else 0,
                window_start=now, next_attempt_at=lease if claim else now, created_at=now, updated_at=now)
            .on_conflict_do_nothing(constraint="uq_webhook_deliveries_endpoint_event")
            .returning(WebhookDelivery.id)
        )
        delivery_id = session.execute(statement).scalar_one_or_none()
        if delivery_id is not None and claim:
            claims.append(Claim(delivery_id, 1, endpoint.id, endpoint.url, endpoint.secret, event_type, body,
                                endpoint.failing_since is not None))
    return claims


def record_test(session, client_id, endpoint_id, actor, settings, now=None):
    """"Send a test event": a `webhook.test` delivery, claimed (sent at once by the caller)."""
    now = now or utcnow()
    endpoint = _endpoint(session, client_id, endpoint_id)
    envelope = make_envelope(WEBHOOK_TEST, {"client_id": endpoint.client_id, "webhook_id": str(endpoint.id),
                                            "actor": actor, "message": "A test event from Deskline."}, occurred_at=now)
    claims = _insert(session, [endpoint], uuid.UUID(envelope["event_id"]), WEBHOOK_TEST, body_of(envelope), 1,
                     settings, now)
    if not claims:  # an endpoint failing right now: the test still goes at once (an admin is waiting to see it)
        delivery_id = session.scalar(sa.select(WebhookDelivery.id).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == uuid.UUID(envelope["event_id"])))
        claims = claim_one(session, delivery_id, settings, now)
    return claims


def claim_one(session, delivery_id, settings, now):
    rows = session.execute(
        sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        .values(status=WEBHOOK_SENDING, attempts=WebhookDelivery.attempts + 1, updated_at=now,
                next_attempt_at=now + timedelta(seconds=settings.lease_seconds))
        .returning(WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)).all()
    return _claims(session, rows)


def _claims(session, rows):
    if not rows:
        return []
    found = session.execute(
        sa.select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.event_type, WebhookDelivery.body,
                  WebhookEndpoint.url, WebhookEndpoint.secret, WebhookEndpoint.failing_since)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_([row.id for row in rows]))).all()
    by_id = {row.id: row for row in found}
    return [Claim(row.id, row.attempts, by_id[row.id].endpoint_id, by_id[row.id].url, by_id[row.id].secret,
                  by_id[row.id].event_type, by_id[row.id].body, by_id[row.id].failing_since is not None)
            for row in rows if row.id in by_id]


def redeliver(session, client_id, endpoint_id, delivery_id, settings, now=None):
    """"Send again": the same delivery (same id, same body) tried now, with a fresh retry window."""
    now = now or utcnow()
    endpoint = _endpoint(session, client_id, endpoint_id)
    row = session.get(WebhookDelivery, delivery_id, with_for_update=True) if isinstance(delivery_id, int) else None
    if row is None or row.endpoint_id != endpoint.id:
        raise NotFound(f"delivery {delivery_id} not found")
    if row.status == WEBHOOK_SENDING:
        raise Conflict(f"delivery {delivery_id} is being sent right now")
    row.status, row.window_start, row.next_attempt_at, row.updated_at = WEBHOOK_PENDING, now, now, now
    session.flush()
    return claim_one(session, row.id, settings, now)


def claim_due(session, settings, limit, now=None):
    """Deliveries due (back-offs ended; attempts whose lease ran out, their process gone) of active
    endpoints, claimed for this instance (SKIP LOCKED shares them between instances)."""
    now = now or utcnow()
    if limit <= 0:
        return []
    due = (
        sa.select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status.in_(WEBHOOK_OPEN), WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.active)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    rows = session.execute(
        sa.update(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
        .values(status=WEBHOOK_SENDING, attempts=WebhookDelivery.attempts + 1, updated_at=now,
                next_attempt_at=now + timedelta(seconds=settings.lease_seconds))
        .returning(WebhookDelivery.id, WebhookDelivery.attempts)
        .execution_options(synchronize_session=False)).all()
    return _claims(session, rows)


# -- outcomes --

def record_outcome(session, claim, result, started_at, settings, now=None, rand=random.random):
    """Log the attempt and move the delivery on; returns its new status, or None for a stale attempt
    (outlived by its lease and claimed again). A failure may switch the endpoint off (see below)."""
    now = now or utcnow()
    # Core statements, not the ORM's unit of work: this runs once per attempt (the benchmark's hot path).
    session.execute(sa.insert(WebhookAttempt).values(
        delivery_id=claim.delivery_id, number=claim.number, started_at=started_at, latency_ms=result.latency_ms,
        status_code=result.status_code, ok=result.ok, error=(result.error or None) and result.error[:ERROR_MAX],
        response_excerpt=(result.excerpt or None) and result.excerpt[:settings.excerpt_chars]))
    values = {"updated_at": now, "last_status_code": result.status_code, "last_latency_ms": result.latency_ms,
              "last_error": None if result.ok else (result.error or "failed")[:ERROR_MAX]}
    if result.ok:
        values.update(status=WEBHOOK_DELIVERED, delivered_at=now, next_attempt_at=None)
    else:
        window_start = session.scalar(sa.select(WebhookDelivery.window_start)
                                      .where(WebhookDelivery.id == claim.delivery_id))
        window_end = (window_start or now) + timedelta(seconds=settings.retry_window_seconds)
        if now >= window_end:
            values.update(status=WEBHOOK_DEAD, next_attempt_at=None,
                          last_error=f"gave up after {claim.number} attempts: {result.error or 'failed'}"[:ERROR_MAX])
        else:
            # The last try lands at the window's end: a receiver down all along has then failed for 24 h.
            next_at = min(now + timedelta(seconds=retry_delay(claim.number, settings, rand)), window_end)
            values.update(status=WEBHOOK_PENDING, next_attempt_at=next_at)
    updated = session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.attempts == claim.number,
               WebhookDelivery.status == WEBHOOK_SENDING)
        .values(**values).execution_options(synchronize_session=False))
    if not (result.ok and not claim.failing):
        _endpoint_health(session, claim.endpoint_id, result.ok, settings, now)
    return values["status"] if updated.rowcount == 1 else None


def _endpoint_health(session, endpoint_id, ok, settings, now):
    # The endpoint's row is skipped while another attempt holds it (SKIP LOCKED): that one is writing the
    # same streak, so waiting behind it would only delay this attempt's record; the next attempt's outcome
    # sets whatever a skip left unsaid.
    unlocked = sa.select(WebhookEndpoint.id).where(WebhookEndpoint.id == endpoint_id).with_for_update(skip_locked=True)
    if ok:
        session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id.in_(unlocked),
                                                         WebhookEndpoint.failing_since.is_not(None))
                        .values(failing_since=None).execution_options(synchronize_session=False))
        return
    session.execute(sa.update(WebhookEndpoint).where(WebhookEndpoint.id.in_(unlocked),
                                                     WebhookEndpoint.failing_since.is_(None))
                    .values(failing_since=now).execution_options(synchronize_session=False))
    disable_if_failing(session, endpoint_id, settings, now)


def disable_if_failing(session, endpoint_id, settings, now):
    """Switch off an active endpoint that has failed for `disable_after_seconds`: its open deliveries end
    and its client's active admins get an e-mail (one per admin, owed once). True if it was switched off."""
    limit = now - timedelta(seconds=settings.disable_after_seconds)
    endpoint = session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active, WebhookEndpoint.failing_since <= limit)
        .with_for_update(skip_locked=True)).first()  # held: another attempt is deciding it (see above)
    if endpoint is None:
        return False
    hours = settings.disable_after_seconds / 3600
    endpoint.active, endpoint.disabled_at, endpoint.updated_at = False, now, now
    endpoint.disabled_reason = f"every delivery failed for {hours:g} hours (since {endpoint.failing_since.isoformat()})"
    session.execute(sa.update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status.in_(WEBHOOK_OPEN))
        .values(status=WEBHOOK_DEAD, next_attempt_at=None, updated_at=now,
                last_error="the webhook was switched off after failing for too long")
        .execution_options(synchronize_session=False))
    session.flush()
    for plan in webhook_emails.plans(session, endpoint, now):
        email_deliveries.record(session, plan, settings.mail, now=now, claim=False)
    return True


# -- the log --

def list_deliveries(session, client_id, endpoint_id, limit=LOG_LIMIT):
    """The endpoint's newest deliveries, each with its newest attempts."""
    endpoint = _endpoint(session, client_id, endpoint_id)
    rows = list(session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                                .order_by(WebhookDelivery.id.desc()).limit(max(1, min(limit, LOG_LIMIT)))))
    return _dump_deliveries(session, rows)


def delivery(session, delivery_id):
    row = session.get(WebhookDelivery, delivery_id)
    return _dump_deliveries(session, [row])[0] if row else None


def _dump_deliveries(session, rows):
    attempts = {}
    if rows:
        for attempt in session.scalars(sa.select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_([row.id for row in rows])).order_by(WebhookAttempt.id.desc())):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    schema, attempt_schema = WebhookDeliverySchema(exclude=("attempt_log",)), WebhookAttemptSchema(many=True)
    return [{**schema.dump(row), "attempt_log": attempt_schema.dump(attempts.get(row.id, [])[:ATTEMPTS_SHOWN])}
            for row in rows]
