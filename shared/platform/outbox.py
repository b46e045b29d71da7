"""The transactional outbox every publishing service uses.

A service writes its event rows in the same transaction as the change (`record`), publishes
them right after the commit (`publish_committed`, the fast path), and runs a relay from a timer
for whatever that missed: a crash between commit and publish, a broker outage
(`publish_pending`). Several instances share the relay through `FOR UPDATE SKIP LOCKED`, so no
row is published twice in normal operation; after a crash between publish and marking a row is
published again: delivery is at-least-once and consumers deduplicate by `event_id`.
"""
import logging
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shared.contracts.events import make_envelope
from shared.platform.timers import BackoffTimer

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


def _row(model, event_type, data, now):
    event_id = uuid.uuid4()
    return model(
        event_id=event_id,
        event_type=event_type,
        payload=make_envelope(event_type, data, event_id=event_id, occurred_at=now),
        created_at=now,
        attempts=0,
    )


def record(session, model, event_type, data, now=None):
    """Add an event row to the session; it commits (or not) with the change it reports."""
    row = _row(model, event_type, data, now or datetime.now(timezone.utc))
    session.add(row)
    session.flush()  # assigns row.id, by which the fast path marks it published
    return row


def record_many(session, model, events, now=None):
    """`record` for several (event_type, data) at once: one flush, so one multi-row INSERT (a batch job's)."""
    now = now or datetime.now(timezone.utc)
    rows = [_row(model, event_type, data, now) for event_type, data in events]
    session.add_all(rows)
    session.flush()
    return rows


# How long after its commit a row is left to the fast path before the relay takes it over.
FAST_PATH_GRACE = timedelta(seconds=2)
# The relay looks every RELAY_MIN_SECONDS while it finds work and backs off, doubling, to
# OUTBOX_RELAY_MAX_SECONDS (a setting) while it finds none: an idle service costs next to nothing.
# A fast path that failed wakes it at once; a row left by a crashed process waits at most the cap.
RELAY_MIN_SECONDS = 1.0
RELAY_MAX_SECONDS = 30.0


class RelayTimer(BackoffTimer):
    """The relay's timer: from RELAY_MIN_SECONDS while it finds work up to OUTBOX_RELAY_MAX_SECONDS without."""

    def bounds(self, config):
        return RELAY_MIN_SECONDS, float(config.get("OUTBOX_RELAY_MAX_SECONDS", RELAY_MAX_SECONDS))


def publish_committed(session, model, rows, publish, marks=None):
    """The fast path: publish rows the caller has just committed, then mark them published.

    No lock is taken: the relay leaves rows alone for FAST_PATH_GRACE, so in normal operation each
    row is published once. If publishing fails the rows stay unpublished and the relay retries them.
    With `marks` (a PublishedMarks batch) the rows are marked by its next batch, not here.
    Returns how many went out.
    """
    published = []
    for row in rows:
        try:
            publish(row.event_type, row.payload)
        except Exception as exc:  # the broker is away: leave it to the relay
            log.warning("outbox: publishing %s %s failed, the relay will retry: %r", row.event_type, row.event_id, exc)
            RelayTimer.wake_all()
            break
        published.append(row.id)
    if published and marks is not None:
        marks.add(published)
    elif published:
        session.execute(
            sa.update(model)
            .where(model.id.in_(published), model.published_at.is_(None))
            .values(published_at=sa.func.now())
        )
        session.commit()
    return len(published)


def mark_published(session, model, ids):
    """Set published_at on these rows (those not already marked)."""
    session.execute(
        sa.update(model)
        .where(model.id.in_(ids), model.published_at.is_(None))
        .values(published_at=sa.func.now())
        .execution_options(synchronize_session=False)
    )


# How long a published row waits to be marked with others (well inside FAST_PATH_GRACE).
MARK_INTERVAL = 0.05


class PublishedMarks(DependencyProvider):
    """The fast path's published rows, marked in one UPDATE per MARK_INTERVAL by a thread of the
    service's own (the service's `db` engine, `outbox_model`)."""

    def setup(self):
        import eventlet.semaphore

        self.pending = []
        self.lock = eventlet.semaphore.Semaphore()
        self.running = False
        self.database = next(dep for dep in self.container.dependencies if hasattr(dep, "declarative_base"))
        self.model = self.container.service_cls.outbox_model

    def start(self):
        self.running = True
        self.container.spawn_managed_thread(self._run, identifier="outbox.published_marks")

    def add(self, ids):
        self.pending.extend(ids)

    def flush(self):
        """Mark what is pending now (the relay and the backlog call this first); False if that failed."""
        from sqlalchemy.orm import Session

        with self.lock:
            ids, self.pending = self.pending, []
            if not ids:
                return True
            try:
                with Session(bind=self.database.engine) as session:
                    mark_published(session, self.model, ids)
                    session.commit()
                return True
            except Exception as exc:  # the database is away: keep them for the next try
                log.warning("outbox: marking %d published rows failed, retrying: %r", len(ids), exc)
                self.pending = ids + self.pending
                return False

    def _run(self):
        import eventlet

        while self.running:
            eventlet.sleep(MARK_INTERVAL)
            self.flush()

    def stop(self):
        self.running = False
        try:
            self.flush()
        except Exception:  # the engine is already gone: the relay publishes these again after a restart
            log.warning("outbox: %d published rows left unmarked at stop", len(self.pending))

    kill = stop

    def get_dependency(self, worker_ctx):
        return self


def publish_claimed(session, model, rows, publish):
    """The fast path for a long transaction (a bulk action): publish rows the caller has just
    committed under `FOR UPDATE SKIP LOCKED`, as the relay takes them.

    `publish_committed` relies on the relay leaving a row alone for FAST_PATH_GRACE after its
    `created_at`; rows written at the start of a transaction that took longer than that are the
    relay's as soon as they commit, and both would publish them. Here whichever locks a row first
    publishes it, the other skips it. Commits; returns how many went out.
    """
    claimed = session.scalars(
        sa.select(model).where(model.id.in_([row.id for row in rows]), model.published_at.is_(None))
        .order_by(model.id).with_for_update(skip_locked=True)
    ).all()
    published = 0
    for row in claimed:
        try:
            publish(row.event_type, row.payload)
        except Exception as exc:  # the broker is away: the relay retries the rest
            log.warning("outbox: publishing %s %s failed, the relay will retry: %r", row.event_type, row.event_id, exc)
            RelayTimer.wake_all()
            break
        row.published_at = datetime.now(timezone.utc)
        published += 1
    session.commit()
    return published


def publish_pending(session, model, publish, limit=200):
    """The relay: publish rows the fast path missed, oldest first; return how many went out.

    Several instances share the work through `FOR UPDATE SKIP LOCKED`. Stops at the first
    failure, so that during a broker outage the remaining rows keep their order for the next
    attempt. The caller commits the session.
    """
    query = (
        sa.select(model)
        .where(model.published_at.is_(None), model.created_at < sa.func.now() - FAST_PATH_GRACE)
        .order_by(model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
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


class OutboxPublisher:
    """Mixin for a nameko service that publishes through its outbox.

    The service declares `db` (nameko-sqlalchemy Database, with expire_on_commit=False so the fast
    path can read committed rows) and `outbox_model`; this gives it the dispatcher, the relay timer,
    the backlog metric, and `_commit_and_publish(session, events)` for its entrypoints.
    """

    outbox_model = None
    config = Config()
    # Not mandatory: an event nobody listens to yet is not an error for the publisher. One quick
    # retry when the broker is away: the relay publishes the row later, the worker must not hang.
    dispatch = EventDispatcher(retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2,
                                             "interval_max": 0.2})
    published_marks = PublishedMarks()

    @rpc
    def outbox_backlog(self):
        """Events committed but not yet published (an operations metric)."""
        self.published_marks.flush()
        with self.db.get_session() as session:
            return unpublished_count(session, self.outbox_model)

    @RelayTimer.decorator
    def relay_outbox(self):
        """Publish what the fast path missed: a crash between commit and publish, a broker outage.
        Returns whether there was work (rows published or a failed attempt): RelayTimer backs off without."""
        batch = self.config.get("OUTBOX_BATCH_SIZE", 200)
        self.published_marks.flush()  # this process's published rows are not the relay's to send
        failures, total = [], 0

        def publish(event_type, payload):
            try:
                return self.dispatch(event_type, payload)
            except Exception:
                failures.append(event_type)
                raise

        while True:
            with self.db.get_session() as session:
                published = publish_pending(session, self.outbox_model, publish, limit=batch)
            total += published
            if published < batch:
                return total or len(failures)

    def _commit_and_publish(self, session, events):
        session.commit()
        publish_committed(session, self.outbox_model, events, self.dispatch, self.published_marks)
