"""The transactional outbox every publishing service uses.

A service writes its event rows in the same transaction as the change (`record`), then
publishes them (`publish_pending`): right after the commit, and again from a timer for whatever
that missed (a crash, a broker outage). Several instances share the work through
`FOR UPDATE SKIP LOCKED`, so no row is published twice in normal operation; after a crash
between publish and commit a row is published again: delivery is at-least-once and consumers
deduplicate by `event_id`.
"""
import logging
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.events import make_envelope

log = logging.getLogger(__name__)


class OutboxColumns:
    """Columns of an outbox table; a service declares `class OutboxEvent(OutboxColumns, Base)`."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(60))
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


def record(session, model, event_type, data, now=None):
    """Add an event row to the session; it commits (or not) with the change it reports."""
    now = now or datetime.now(timezone.utc)
    event_id = uuid.uuid4()
    row = model(
        event_id=event_id,
        event_type=event_type,
        payload=make_envelope(event_type, data, event_id=event_id, occurred_at=now),
        created_at=now,
        attempts=0,
    )
    session.add(row)
    session.flush()  # assigns row.id, which the caller publishes by right after its commit
    return row


def publish_pending(session, model, publish, ids=None, limit=200):
    """Publish unpublished rows in id order (only `ids` if given); return how many went out.

    Stops at the first failure, so that a broker outage keeps the remaining rows in order for the
    next attempt. The caller commits the session.
    """
    query = (
        sa.select(model)
        .where(model.published_at.is_(None))
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(model.id.in_(ids))
    published = 0
    for row in session.scalars(query):
        try:
            publish(row.event_type, row.payload)
        except Exception as exc:  # any failure to publish: keep the row for the next attempt
            row.attempts += 1
            row.last_error = repr(exc)[:2000]
            log.warning("outbox: publishing %s %s failed: %r", row.event_type, row.event_id, exc)
            break
        row.published_at = datetime.now(timezone.utc)
        published += 1
    return published


def unpublished_count(session, model):
    """The outbox backlog: rows written but not yet published."""
    return session.scalar(sa.select(sa.func.count()).where(model.published_at.is_(None)))
