"""What the tickets service does, as functions over a SQLAlchemy session (no broker needed).

Each writing function changes the ticket, its history and the outbox in the caller's
transaction, so the three commit together or not at all.
"""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.sql.visitors import InternalTraversal

from shared.contracts.enums import TICKET_CREATED, TICKET_DELETED, TICKET_PRIORITIES, TICKET_STATUSES, TICKET_UPDATED
from shared.contracts.exceptions import NotFound, ValidationError
from shared.contracts.schemas import load
from shared.platform import outbox

from . import conversation, domain, queues, schemas, search, sla_operations
from .models import OutboxEvent, Ticket, TicketChange, TicketCounter


def _now():
    return datetime.now(timezone.utc)


def next_ticket_number(session, client_id):
    """Take the client's next number from its counter row (made at its first ticket, as number 1).

    The row lock serialises the client's concurrent creates until their commit, so its numbers follow
    commit order, and a rolled-back create gives its number back: no gaps, unlike a sequence. Other
    clients' rows are other locks: their creates never wait on this one. Two first creates of a new
    client meet on the primary key, and the second waits for the first's outcome like on the row lock.
    """
    statement = insert(TicketCounter).values(client_id=client_id, value=1)
    return session.execute(
        statement.on_conflict_do_update(
            index_elements=[TicketCounter.client_id], set_={"value": TicketCounter.value + 1}
        ).returning(TicketCounter.value)
    ).scalar_one()


def create_ticket(session, data, now=None, idempotency_key=None):
    """Validate, number and store a ticket; returns (ticket as a dict, outbox row).

    With an `idempotency_key` already used by this client, returns that ticket and no event: the
    same create delivered twice (an RPC redelivered after a crash, a client's retry) makes one ticket.
    """
    values = load(schemas.TICKET_CREATE, data)  # before numbering: bad input takes no number
    messages = values.pop("messages")
    key = load(schemas.IDEMPOTENCY, {"idempotency_key": idempotency_key})["idempotency_key"]
    if key is not None:
        existing = session.scalars(
            sa.select(Ticket).where(Ticket.client_id == values["client_id"], Ticket.idempotency_key == key)
        ).one_or_none()
        if existing is not None:
            return schemas.dump_ticket(existing), None
    number = next_ticket_number(session, values["client_id"])
    now = now or _now()  # read under the counter's lock, so created_at follows the numbers
    ticket = Ticket(
        id=uuid.uuid4(),  # known before the flush, so the ticket and its history insert in one
        number=number,
        ticket_number=domain.format_ticket_number(number),
        created_at=now,
        updated_at=now,
        idempotency_key=key,
        reply_token=conversation.new_reply_token(),
        **values,
    )
    domain.stamp_status(ticket, now)
    sla_operations.start_clock(session, ticket, now)
    session.add(ticket)
    session.add(TicketChange(ticket_id=ticket.id, at=now, actor=ticket.created_by, action="created"))
    data = {}
    if messages:
        session.flush()  # the ticket's row before its messages'
        data["messages"] = conversation.add_initial_messages(session, ticket, messages, now)
    result = schemas.dump_ticket(ticket)
    event = outbox.record(session, OutboxEvent, TICKET_CREATED, {"ticket": result, "actor": ticket.created_by, **data},
                          now)
    return result, event


def get_ticket(session, ref, client_id=None, for_update=False):
    """The ticket with this id or number, in this client if given; NotFound otherwise.

    Numbers are per client: every request path passes its client (the agent's token, a signed link's,
    an inbound mail's thread). Without one (internal tools, tests) a number names a ticket only while
    no other client's live ticket has it: an ambiguous number is NotFound, never a guess.
    """
    parsed = domain.parse_ref(ref)
    if parsed is None:
        raise NotFound(f"ticket {ref!r} not found")
    kind, value = parsed
    query = sa.select(Ticket).where(
        (Ticket.number if kind == "number" else Ticket.id) == value,
        Ticket.deleted_at.is_(None),
    )
    if client_id is not None:
        query = query.where(Ticket.client_id == client_id)
    if for_update:
        query = query.with_for_update()
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:
        raise NotFound(f"ticket {ref!r} not found")
    return found[0]


def _rank(column, values):
    """Sort by a field's meaning (low < medium < high < urgent), not its spelling."""
    return sa.case({value: index for index, value in enumerate(values)}, value=column)


SORT_COLUMNS = {
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "ticket_number": Ticket.number,
    "priority": _rank(Ticket.priority, TICKET_PRIORITIES),
    "status": _rank(Ticket.status, TICKET_STATUSES),
    "title": Ticket.title,
    "sla_due_at": Ticket.sla_due_at,
}


# Counting every match scans every matching index entry: 20,000 open tickets cost ~20 ms of PostgreSQL
# per page, four times the rest of the list. Up to EXACT_COUNT_MAX (the bulk actions' limit: the
# "select all N" offer needs it exact) the count is exact; above, the planner's estimate from the
# table's statistics stands in (`total_exact` false), at the cost of planning the query only.
EXACT_COUNT_MAX = 1000


class _Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON) <select>` as a statement of its own, compiled once per shape (SQLAlchemy's cache)."""

    inherit_cache = True
    _traverse_internals = [("select", InternalTraversal.dp_clauseelement)]

    def __init__(self, select):
        self.select = select

    @property
    def _all_selected_columns(self):
        return [sa.column("QUERY PLAN", sa.JSON)]


@compiles(_Explain, "postgresql")
def _compile_explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.select, **kw)


def _count(session, where):
    """(how many tickets match, whether that is exact): exact up to EXACT_COUNT_MAX, an estimate above."""
    bounded = sa.select(Ticket.id).where(*where).limit(EXACT_COUNT_MAX + 1).subquery()
    exact = session.scalar(sa.select(sa.func.count()).select_from(bounded))
    if exact <= EXACT_COUNT_MAX:
        return exact, True
    plan = session.execute(_Explain(sa.select(Ticket.id).where(*where))).scalar()
    estimate = int(plan[0]["Plan"]["Plan Rows"])
    return max(estimate, EXACT_COUNT_MAX + 1), False


def list_tickets(session, filters):
    """One page of a client's tickets: {items, total, total_exact, page, per_page} (_count: the total)."""
    f = load(schemas.LIST_FILTERS, filters)
    where = queues.conditions(f, _now())
    column = SORT_COLUMNS[f["sort"].lstrip("-")]
    descending = f["sort"].startswith("-")
    first = column.desc() if descending else column.asc()
    if column is Ticket.sla_due_at:
        first = first.nulls_last()  # tickets without a due time (paused, met, older than SLAs) last either way
    order = [first, Ticket.number.desc() if descending else Ticket.number.asc()]
    if f.get("q") and "sort" not in filters:
        order.insert(0, search.relevance(f["q"]).desc())  # a search without a chosen order: best first
    total, exact = _count(session, where)
    items = session.scalars(
        sa.select(Ticket).where(*where).order_by(*order)
        .limit(f["per_page"]).offset((f["page"] - 1) * f["per_page"])
    )
    return {
        "items": [schemas.dump_ticket(ticket) for ticket in items],
        "total": total,
        "total_exact": exact,
        "page": f["page"],
        "per_page": f["per_page"],
    }


def _actor(actor):
    return load(schemas.ACTOR, {"actor": actor})["actor"]


def update_ticket(session, ref, changes, actor=None, client_id=None, now=None):
    """Apply a partial update; returns (ticket as a dict, changes, outbox row or None if nothing changed)."""
    values = load(schemas.TICKET_UPDATE, changes)
    actor = _actor(actor)
    now = now or _now()
    ticket = get_ticket(session, ref, client_id, for_update=True)  # serialise concurrent edits
    diff = domain.apply_changes(ticket, values, now)
    sla_operations.follow_changes(session, ticket, diff, now)
    result = schemas.dump_ticket(ticket)
    if not diff:
        return result, diff, None
    session.add_all(
        TicketChange(
            ticket_id=ticket.id, at=now, actor=actor, action="updated", field=field,
            old_value=change["from"], new_value=change["to"],
        )
        for field, change in diff.items()
    )
    event = outbox.record(
        session, OutboxEvent, TICKET_UPDATED, {"ticket": result, "changes": diff, "actor": actor}, now
    )
    return result, diff, event


def delete_ticket(session, ref, actor=None, client_id=None, now=None):
    """Delete a ticket: it disappears from every read, its number and history are kept."""
    actor = _actor(actor)
    now = now or _now()
    ticket = get_ticket(session, ref, client_id, for_update=True)
    ticket.deleted_at = now
    session.add(TicketChange(ticket_id=ticket.id, at=now, actor=actor, action="deleted"))
    return outbox.record(
        session, OutboxEvent, TICKET_DELETED, {"ticket": schemas.dump_ticket(ticket), "actor": actor}, now
    )


def get_history(session, ref, client_id=None):
    """The ticket's timeline, oldest first."""
    ticket = get_ticket(session, ref, client_id)
    entries = session.scalars(
        sa.select(TicketChange).where(TicketChange.ticket_id == ticket.id).order_by(TicketChange.id)
    )
    return schemas.HISTORY.dump(entries)


EXPORT_LIMIT_MAX = 500


def export_tickets(session, after_number=0, limit=200, after_client=""):
    """Live tickets of every client with their histories, in (client, number) order after
    (`after_client`, `after_number`): {"items": [{**ticket, "history": [...]}], "next_client" and
    "next_after": the last ticket's client and number, or None at the end}.

    For rebuilding read models elsewhere (the public tracker's) in a few large pages instead of a
    call per ticket. Numbers repeat across clients, so the position is the pair.
    """
    if not isinstance(after_number, int) or not isinstance(limit, int) or after_number < 0:
        raise ValidationError({"after_number": ["Must be a whole number, 0 or more."]})
    if not isinstance(after_client, str):
        raise ValidationError({"after_client": ["Must be a client id (text)."]})
    limit = max(1, min(limit, EXPORT_LIMIT_MAX))
    tickets = session.scalars(
        sa.select(Ticket)
        .where(sa.tuple_(Ticket.client_id, Ticket.number) > sa.tuple_(sa.literal(after_client), sa.literal(after_number)),
               Ticket.deleted_at.is_(None))
        .order_by(Ticket.client_id, Ticket.number).limit(limit)
    ).all()
    histories = {ticket.id: [] for ticket in tickets}
    for change in session.scalars(
        sa.select(TicketChange).where(TicketChange.ticket_id.in_(histories)).order_by(TicketChange.id)
    ):
        histories[change.ticket_id].append(change)
    items = [
        {**schemas.dump_ticket(ticket), "history": schemas.HISTORY.dump(histories[ticket.id])} for ticket in tickets
    ]
    more = len(tickets) == limit
    return {"items": items, "next_after": tickets[-1].number if more else None,
            "next_client": tickets[-1].client_id if more else None}
