"""Bulk actions: one request changes (or deletes) up to BULK_MAX tickets, each exactly as a single
update would (`operations.update_ticket` / `delete_ticket`: one history entry per changed field and
one event per changed ticket), each in a savepoint of its own, so that a ticket whose change fails
is left exactly as it was and the others go through. The batch commits once.

Every selected ticket is locked first, in number order: two batches over the same tickets wait for
each other instead of deadlocking.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError

from shared.contracts.bulk_schemas import BULK_MAX, BulkChangesSchema, BulkRequestSchema
from shared.contracts.exceptions import NotFound, ValidationError
from shared.contracts.schemas import load

from . import domain, operations, queues, schemas
from .models import Ticket

REQUEST = BulkRequestSchema()
TICKET_CHANGES = BulkChangesSchema(partial=True)
# Failures of one ticket's change that leave the others free to go on (anything else fails the batch).
TICKET_ERRORS = (ValidationError, NotFound, DataError, IntegrityError)


def _select(session, request, client_id, now):
    """[(ref as given, the ticket's id or None if it names no live ticket of this client, that
    ticket's own changes)] in ticket-number order, unknown refs last; the tickets are locked."""
    if "filter" in request:
        filters = load(schemas.LIST_FILTERS, {**request["filter"], "client_id": client_id})
        where = queues.conditions(filters, now)
        total = session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(*where))
        if total > BULK_MAX:
            raise ValidationError({"filter": [f"Matches {total} tickets; a batch holds at most {BULK_MAX}: narrow the filter."]})
        rows = session.execute(
            sa.select(Ticket.id, Ticket.ticket_number).where(*where).order_by(Ticket.number).with_for_update()
        ).all()
        return [(number, str(key), {}) for key, number in rows]
    items = request["tickets"]
    parsed = {item["ticket"]: domain.parse_ref(item["ticket"]) for item in items}
    ids = {value for kind, value in filter(None, parsed.values()) if kind == "id"}
    numbers = {value for kind, value in filter(None, parsed.values()) if kind == "number"}
    found = session.execute(
        sa.select(Ticket.id, Ticket.number).where(
            Ticket.client_id == client_id, Ticket.deleted_at.is_(None),
            sa.or_(Ticket.id.in_(ids), Ticket.number.in_(numbers)),
        ).order_by(Ticket.number).with_for_update()
    ).all()
    position = {}
    for index, row in enumerate(found):
        position[("id", row.id)] = position[("number", row.number)] = (index, str(row.id))
    located = [(item["ticket"], position.get(parsed[item["ticket"]], (len(found), None)), item["changes"]) for item in items]
    return [(ref, key, own) for ref, (_, key), own in sorted(located, key=lambda entry: entry[1][0])]


def _failure(ref, exc):
    if isinstance(exc, ValidationError):
        return {"ticket": ref, "error": "validation_error", "message": "Invalid fields.", "errors": exc.errors}
    if isinstance(exc, NotFound):
        return {"ticket": ref, "error": "not_found", "message": f"No ticket {ref} in this client.", "errors": {}}
    return {"ticket": ref, "error": "rejected", "message": "The database refused this change.", "errors": {}}


def bulk_update(session, request, actor=None, client_id=None, now=None):
    """Apply a batch ({tickets | filter, changes | delete}); returns ({changed, unchanged, failed},
    the outbox rows to publish after the commit). The caller commits."""
    request = load(REQUEST, request)
    client_id = load(schemas.LIST_FILTERS, {"client_id": client_id})["client_id"]
    actor = operations._actor(actor)
    now = now or datetime.now(timezone.utc)
    selected = _select(session, request, client_id, now)
    changed, unchanged, failed, events, seen = 0, 0, [], [], set()
    for ref, key, own in selected:
        try:
            if key is None:
                raise NotFound(ref)
            with session.begin_nested():
                if key in seen:  # the same ticket named twice (by id and by number): once is the change
                    unchanged += 1
                    continue
                seen.add(key)
                if request["delete"]:
                    events.append(operations.delete_ticket(session, key, actor, client_id, now))
                    changed += 1
                    continue
                changes = {**request.get("changes", {}), **load(TICKET_CHANGES, own)}
                _, _, event = operations.update_ticket(session, key, changes, actor, client_id, now)
        except TICKET_ERRORS as exc:
            failed.append(_failure(ref, exc))
            continue
        if event is None:
            unchanged += 1
        else:
            changed += 1
            events.append(event)
    return {"changed": changed, "unchanged": unchanged, "failed": failed}, events
