"""Which tickets a list filter, a queue or a saved view holds, as SQL conditions, and the sidebar's
counts of every queue and view in one query.

Queues: "open" is work waiting on the team (open, in progress); "unassigned" is every unresolved
ticket (open, in progress, pending) with nobody on it; "pending" waits on the customer;
"resolved_recently" was resolved or closed within RESOLVED_RECENTLY_DAYS. "My open tickets" is the
open queue assigned to the agent (`queue=open&assigned_to=<email>` in the list's URL).
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.contracts.enums import RESOLVED_STATUSES
from shared.contracts.exceptions import ValidationError
from shared.contracts.schemas import load

from . import schemas, search, sla_operations
from .models import Ticket

OPEN_STATUSES = ("open", "in_progress")
UNRESOLVED_STATUSES = ("open", "in_progress", "pending")
RESOLVED_RECENTLY_DAYS = 7
FILTER_FIELDS = ("status", "priority", "category", "assigned_to")
# A sidebar shows a few views; a request naming more is refused rather than run as a huge query.
VIEWS_MAX = 50


def queue_condition(queue, now):
    if queue == "open":
        return Ticket.status.in_(OPEN_STATUSES)
    if queue == "unassigned":
        return sa.and_(Ticket.assigned_to.is_(None), Ticket.status.in_(UNRESOLVED_STATUSES))
    if queue == "pending":
        return Ticket.status == "pending"
    if queue == "resolved_recently":
        return sa.and_(Ticket.status.in_(RESOLVED_STATUSES),
                       Ticket.resolved_at >= now - timedelta(days=RESOLVED_RECENTLY_DAYS))
    raise ValueError(queue)


def conditions(filters, now=None):
    """The WHERE conditions of loaded list filters (client, live, each field, queue, search)."""
    now = now or datetime.now(timezone.utc)
    where = [Ticket.client_id == filters["client_id"], Ticket.deleted_at.is_(None)]
    for field in FILTER_FIELDS:
        if filters.get(field):
            where.append(getattr(Ticket, field) == filters[field])
    if filters.get("queue"):
        where.append(queue_condition(filters["queue"], now))
    if filters.get("q"):
        where.append(search.matches(filters["q"]))
    if filters.get("sla"):
        where.append(sla_operations.due_filter(filters["sla"], now))
    return where


def queue_counts(session, client_id, agent_email=None, views=(), now=None):
    """{"queues": {mine, open, unassigned, pending, resolved_recently}, "views": {id: count or None}}.

    One scan of the client's live tickets, a `count(*) FILTER (WHERE ...)` per queue and view. `views`
    are [{id, filters}] with the list's URL filters; a view whose filters no longer load counts None.
    """
    now = now or datetime.now(timezone.utc)
    client = load(schemas.LIST_FILTERS, {"client_id": client_id})["client_id"]
    if not isinstance(views, (list, tuple)) or len(views) > VIEWS_MAX:
        raise ValidationError({"views": [f"At most {VIEWS_MAX} views."]})
    columns = {name: queue_condition(name, now) for name in ("open", "unassigned", "pending", "resolved_recently")}
    columns["mine"] = sa.and_(queue_condition("open", now), Ticket.assigned_to == (agent_email or ""))
    view_columns = {}
    for index, view in enumerate(views):
        try:
            loaded = load(schemas.LIST_FILTERS, {**_filters_of(view), "client_id": client})
        except (ValidationError, TypeError):
            view_columns[str(view.get("id") if isinstance(view, dict) else index)] = None
            continue
        view_columns[str(view["id"])] = sa.and_(*conditions(loaded, now)[2:], sa.true())
    labelled = [sa.func.count().filter(condition).label(f"q_{name}") for name, condition in columns.items()]
    live_views = {key: condition for key, condition in view_columns.items() if condition is not None}
    labelled += [sa.func.count().filter(condition).label(f"v_{i}") for i, condition in enumerate(live_views.values())]
    row = session.execute(
        sa.select(*labelled).select_from(Ticket).where(Ticket.client_id == client, Ticket.deleted_at.is_(None))
    ).one()
    counts = row._mapping
    return {
        "queues": {name: counts[f"q_{name}"] for name in columns},
        "views": {key: (counts[f"v_{list(live_views).index(key)}"] if key in live_views else None)
                  for key in view_columns},
    }


def _filters_of(view):
    """A view's filters, less what does not narrow a count (paging, sort, the open ticket)."""
    filters = view.get("filters") if isinstance(view, dict) else None
    if not isinstance(filters, dict):
        raise TypeError("no filters")
    return {key: value for key, value in filters.items() if key not in ("page", "per_page", "sort", "ticket")}
