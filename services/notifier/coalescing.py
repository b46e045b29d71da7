"""Customer-visible updates to one ticket within a short window make one email, listing every change.

An update's changes are not emailed at once: they are merged into the ticket's `pending_updates`
row, which is due `update_coalesce_seconds` after the first of them arrived (a stream of edits
still gets an email per window, never starves). The notifier's timer claims due rows (`FOR UPDATE
SKIP LOCKED`: one instance per row) and, in the same transaction, turns each into a delivery of
the existing log and deletes it: the row is the state between an event and its email, so a
restarted notifier or another instance carries on from it, and the last state is never lost.

- A field changed and changed back within the window is no change: no email if nothing is left.
- A resolution is emailed at once (`fold_into_resolution`): the pending changes go into the
  resolution email and the pending row goes, so the customer does not get both.
- Each event is merged once (`merged_events`): a redelivery, even after the email went out,
  adds nothing.

Functions over a SQLAlchemy session; the caller commits.
"""
import dataclasses
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from shared.contracts.customer_view import NOTIFIED_FIELDS
from shared.contracts.enums import TICKET_UPDATED

from . import deliveries
from .emails import RESOLVED, UPDATED, Plan
from .models import MergedEvent, PendingUpdate

# How long a merged event's id is kept against redeliveries (a broker redelivers within minutes,
# an outbox relay after a crash within hours).
MERGED_EVENT_RETENTION = timedelta(days=7)


def _utcnow():
    return datetime.now(timezone.utc)


def _moment(value):
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def merge_changes(merged, changes, at):
    """`merged` ({field: {from, from_at, to, to_at}}) with one event's {field: {from, to}} made
    at ticket version `at` (ISO): the earliest "from" and the latest "to" stand, whatever the order
    the events come in."""
    result = {field: dict(entry) for field, entry in merged.items()}
    for field, change in changes.items():
        entry = result.get(field)
        if entry is None:
            result[field] = {"from": change["from"], "from_at": at, "to": change["to"], "to_at": at}
            continue
        if _moment(at) < _moment(entry["from_at"]):
            entry.update({"from": change["from"], "from_at": at})
        if _moment(at) >= _moment(entry["to_at"]):
            entry.update({"to": change["to"], "to_at": at})
    return result


def net_changes(merged):
    """What the customer is told: each field from its first value to its last, in display order;
    a field that came back to where it was is no change."""
    return {
        field: {"from": merged[field]["from"], "to": merged[field]["to"]}
        for field in NOTIFIED_FIELDS
        if field in merged and merged[field]["from"] != merged[field]["to"]
    }


def _first_sight(session, plan, now):
    """Remember the event; False if it was merged before (a redelivery)."""
    return session.execute(
        insert(MergedEvent)
        .values(event_id=plan.event_id, ticket_id=plan.ticket_id, merged_at=now)
        .on_conflict_do_nothing()
        .returning(MergedEvent.event_id)
    ).scalar_one_or_none() is not None


def _version(plan):
    return plan.context["ticket"].get("updated_at") or plan.occurred_at.isoformat()


def hold(session, plan, settings, now=None):
    """Merge an update's customer-visible changes into its ticket's pending email (made due
    `update_coalesce_seconds` from now if there was none). False if the event was merged before."""
    now = now or _utcnow()
    if not _first_sight(session, plan, now):
        return False
    version = _version(plan)
    first = dict(
        ticket_id=plan.ticket_id, ticket_number=plan.ticket_number, event_id=plan.event_id,
        recipient=plan.recipient, ticket=plan.context["ticket"], version=_moment(version), changes={},
        occurred_at=plan.occurred_at, due_at=now + timedelta(seconds=settings.update_coalesce_seconds),
        created_at=now, updated_at=now,
    )
    while True:
        session.execute(insert(PendingUpdate).values(**first).on_conflict_do_nothing())
        # Locked until the commit: concurrent merges for one ticket queue up, the timer skips it.
        row = session.get(PendingUpdate, plan.ticket_id, with_for_update=True, populate_existing=True)
        if row is not None:
            break
        # The timer sent and deleted the row between the two statements: start a new one.
    row.changes = merge_changes(row.changes, plan.context["changes"], version)
    if _moment(version) >= row.version:  # the newest snapshot is the one shown
        row.ticket, row.version, row.recipient = plan.context["ticket"], _moment(version), plan.recipient
        row.occurred_at = plan.occurred_at
    row.updated_at = now
    return True


def fold_into_resolution(session, plan, now=None):
    """The resolution email's plan with the ticket's pending changes in it, the pending email
    dropped (the resolution tells it all); None if this event was handled before."""
    now = now or _utcnow()
    if not _first_sight(session, plan, now):
        return None
    row = session.get(PendingUpdate, plan.ticket_id, with_for_update=True, populate_existing=True)
    if row is None:
        return plan
    merged = merge_changes(row.changes, plan.context["changes"], _version(plan))
    session.delete(row)
    return dataclasses.replace(plan, context={**plan.context, "changes": net_changes(merged)})


def claim_due(session, limit, now=None):
    """Take up to `limit` pending emails that are due: (how many were taken, the Plan of each update
    email; none for a ticket whose changes cancelled out). Their rows are deleted in the caller's
    transaction, which must record the plans' deliveries too: both happen, or neither."""
    now = now or _utcnow()
    rows = session.scalars(
        sa.select(PendingUpdate)
        .where(PendingUpdate.due_at <= now)
        .order_by(PendingUpdate.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    plans = []
    for row in rows:
        changes = net_changes(row.changes)
        if changes:
            plans.append(Plan(
                event_id=row.event_id, event_type=TICKET_UPDATED, kind=UPDATED, ticket_id=row.ticket_id,
                ticket_number=row.ticket_number, recipient=row.recipient,
                context={"ticket": row.ticket, "changes": changes}, occurred_at=row.occurred_at,
            ))
        session.delete(row)
    return len(rows), plans


def forget_old_events(session, now=None):
    """Drop merged-event ids past their retention (the table would otherwise only grow)."""
    now = now or _utcnow()
    return session.execute(
        sa.delete(MergedEvent).where(MergedEvent.merged_at < now - MERGED_EVENT_RETENTION)
    ).rowcount


def record(session, plan, settings, now=None):
    """Record what an event's plan owes; returns the Attempt to make now, or None.

    An update waits in its ticket's pending email; a resolution takes that in and, like a
    creation, is a delivery at once (deliveries.record).
    """
    if plan.kind == UPDATED:
        hold(session, plan, settings, now)
        return None
    if plan.kind == RESOLVED:
        plan = fold_into_resolution(session, plan, now)
        if plan is None:
            return None
    return deliveries.record(session, plan, settings, now)
