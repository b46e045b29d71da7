"""SLA over a SQLAlchemy session: clients' policies, the clock kept through a ticket's changes, and the
scheduler's tick that publishes `ticket.sla_warning` / `ticket.sla_breached` exactly once.

Exactly once with several instances: the tick claims the tickets whose next check has come with
`SELECT ... FOR UPDATE SKIP LOCKED` (an instance never waits for, nor reads, a ticket another one
holds), re-reads which events already went out from the ticket's own `sla_fired` bits under that
lock, and in the same transaction sets the bits, writes the timeline entry and the outbox row. A
second instance that reaches the ticket later sees the bits set; a crash before the commit leaves
nothing behind, and the next tick does it again.
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.contracts.enums import TICKET_SLA_BREACHED, TICKET_SLA_WARNING
from shared.contracts.exceptions import ValidationError
from shared.platform import outbox

from . import schemas, sla
from .models import OutboxEvent, SlaPolicy, Ticket, TicketChange

EVENT_TYPES = {"warning": TICKET_SLA_WARNING, "breached": TICKET_SLA_BREACHED}
TICK_BATCH = 200
DUE_SOON = timedelta(hours=1)


def _now():
    return datetime.now(timezone.utc)


def policy_for(session, client_id):
    """The client's Policy; the defaults (24/7) for a client that never set one."""
    stored = session.get(SlaPolicy, client_id)
    return sla.DEFAULT_POLICY if stored is None else sla.parse_policy(stored.policy)


def _client(client_id):
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 64:
        raise ValidationError({"client_id": ["Missing or longer than 64 characters."]})
    return client_id


def get_sla(session, client_id):
    """The client's policy in its API form, and whether it is the default."""
    client_id = _client(client_id)
    stored = session.get(SlaPolicy, client_id)
    policy = sla.DEFAULT_POLICY if stored is None else sla.parse_policy(stored.policy)
    return {**sla.dump_policy(policy), "default": stored is None,
            "updated_at": stored.updated_at.isoformat() if stored else None,
            "updated_by": stored.updated_by if stored else None}


def put_sla(session, client_id, data, actor=None, now=None):
    """Replace the client's policy (new tickets and priority changes use it); ValidationError names the field."""
    client_id = _client(client_id)
    try:
        policy = sla.parse_policy(data)
    except sla.PolicyError as exc:
        raise ValidationError({exc.field: [exc.reason]}) from None
    stored = session.get(SlaPolicy, client_id, with_for_update=True)
    if stored is None:
        stored = SlaPolicy(client_id=client_id)
        session.add(stored)
    stored.policy = sla.dump_policy(policy)
    stored.updated_at = now or _now()
    stored.updated_by = load_actor(actor)
    session.flush()
    return get_sla(session, client_id)


def load_actor(actor):
    return schemas.ACTOR.load({"actor": actor})["actor"]


def start_clock(session, ticket, now):
    """A new ticket's targets, from its client's policy."""
    sla.start(ticket, policy_for(session, ticket.client_id), now)


def follow_changes(session, ticket, diff, now):
    """Keep the clock true to an update: pause or resume on status, new targets on priority."""
    if ticket.sla_first_response_seconds is None or not ({"status", "priority"} & set(diff)):
        return
    policy = policy_for(session, ticket.client_id)
    if "status" in diff:
        sla.status_changed(ticket, diff["status"]["from"], policy.calendar, now)
    if "priority" in diff:
        sla.priority_changed(ticket, policy, now)


def record_first_response(session, ticket, now):
    """The first public agent reply happened: record achieved/breached and stop that target."""
    if ticket.sla_first_response_seconds is None or ticket.sla_first_response_outcome is not None:
        return
    sla.first_response(ticket, policy_for(session, ticket.client_id).calendar, now)


def tick(session, now=None, limit=TICK_BATCH):
    """One scheduler pass over at most `limit` tickets whose next check has come; returns (tickets claimed,
    outbox rows written): the caller commits, then publishes them. Tickets another instance holds are skipped."""
    now = now or _now()
    tickets = session.scalars(
        sa.select(Ticket)
        .where(Ticket.sla_next_check_at <= now, Ticket.sla_next_check_at.isnot(None), Ticket.deleted_at.is_(None))
        .order_by(Ticket.sla_next_check_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    rows = []
    for ticket in tickets:
        for target, kind, due in sla.due_events(ticket, now):
            session.add(TicketChange(ticket_id=ticket.id, at=now, actor=None, action=f"sla_{kind}", field=target,
                                     new_value=due.isoformat()))
            rows.append((ticket, target, kind, due))
        ticket.sla_next_check_at = sla.next_check(ticket)
    events = outbox.record_many(session, OutboxEvent, [
        (EVENT_TYPES[kind], {"ticket": schemas.dump_ticket(ticket), "target": target, "due_at": due.isoformat(),
                             "actor": None})
        for ticket, target, kind, due in rows
    ], now) if rows else []
    return len(tickets), events


def due_filter(kind, now):
    """The list's SLA filters: "breached" (the next due time has passed) and "due_soon" (within the hour)."""
    if kind == "breached":
        return Ticket.sla_due_at <= now
    return sa.and_(Ticket.sla_due_at > now, Ticket.sla_due_at <= now + DUE_SOON)

