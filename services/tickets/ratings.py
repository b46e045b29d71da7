"""CSAT: a customer's rating of how their ticket was resolved (good, okay, bad) and an optional comment.

The resolution e-mail carries a signed link for the ticket's current resolution round
(shared/contracts/rating_links.py); the gateway checks the link and calls `rate` with the ticket id
and the round it names. A rating is accepted while the ticket is resolved or closed in that round: a
ticket reopened since, or resolved again (a newer round, a newer link), refuses the older link. The
customer may change their mind while the link works: every rating given is a ticket_ratings row, the
ticket keeps the latest (what reports count). The same rating again only adds or replaces the comment
(no new row, and no event when nothing changed), so a form sent twice counts once.
"""
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from shared.contracts.enums import RATINGS, RESOLVED_STATUSES, TICKET_RATED
from shared.contracts.exceptions import Conflict, NotFound
from shared.contracts.schemas import load, optional_text
from shared.platform import outbox

from . import schemas
from .models import OutboxEvent, Ticket, TicketChange, TicketRating

COMMENT_MAX = 2000


class RateSchema(Schema):
    ticket_id = fields.UUID(required=True)
    round = fields.Integer(required=True, validate=validate.Range(min=1))
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = optional_text(COMMENT_MAX)


RATE = RateSchema()


def _now():
    return datetime.now(timezone.utc)


def rateable(session, ticket_id, round_, for_update=False):
    """The ticket a rating link names, while that link's round is the ticket's current resolution;
    NotFound (no such ticket) or Conflict (reopened since, or resolved again: a newer link) otherwise."""
    query = sa.select(Ticket).where(Ticket.id == ticket_id, Ticket.deleted_at.is_(None))
    ticket = session.scalars(query.with_for_update() if for_update else query).one_or_none()
    if ticket is None:
        raise NotFound("ticket not found")
    if ticket.resolution_round != round_ or ticket.status not in RESOLVED_STATUSES:
        raise Conflict("this rating link is for an earlier resolution of the ticket")
    return ticket


def rate(session, data, now=None):
    """Record a rating (and comment); returns (ticket dict, outbox row or None when nothing changed)."""
    values = load(RATE, data)
    now = now or _now()
    ticket = rateable(session, values["ticket_id"], values["round"], for_update=True)
    rating, comment = values["rating"], values.get("comment")
    latest = session.scalars(
        sa.select(TicketRating).where(TicketRating.ticket_id == ticket.id, TicketRating.resolution_round == ticket.resolution_round)
        .order_by(TicketRating.id.desc()).limit(1)
    ).first()
    if latest is not None and latest.rating == rating:
        if comment is None or comment == latest.comment:
            return schemas.dump_ticket(ticket), None
        latest.comment = comment
    else:
        session.add(TicketRating(ticket_id=ticket.id, client_id=ticket.client_id, resolution_round=ticket.resolution_round,
                                 rating=rating, comment=comment, rated_at=now))
        session.add(TicketChange(ticket_id=ticket.id, at=now, actor=ticket.customer_email, action="rated",
                                 field="rating", old_value=ticket.rating, new_value=rating))
        ticket.rating, ticket.rated_at = rating, now
    # A new version of the ticket: read models that keep the newest snapshot take this one.
    ticket.updated_at = now
    result = schemas.dump_ticket(ticket)
    event = outbox.record(session, OutboxEvent, TICKET_RATED, {
        "client_id": ticket.client_id, "ticket": result, "rating": rating, "comment": comment,
        "actor": ticket.customer_email}, now)
    return result, event


def rating_state(session, ticket_id, round_):
    """What the rating page shows: {ticket_number, client_id, status, rating, comment} for a link still
    good (Conflict / NotFound as `rate`); rating and comment are this round's latest, or null."""
    try:
        ticket_id = uuid.UUID(str(ticket_id))
    except ValueError:
        raise NotFound("ticket not found") from None
    ticket = rateable(session, ticket_id, round_)
    latest = session.scalars(
        sa.select(TicketRating).where(TicketRating.ticket_id == ticket.id, TicketRating.resolution_round == round_)
        .order_by(TicketRating.id.desc()).limit(1)
    ).first()
    return {"ticket_number": ticket.ticket_number, "client_id": ticket.client_id, "title": ticket.title,
            "status": ticket.status, "rating": latest.rating if latest else None,
            "comment": latest.comment if latest else None}


def list_ratings(session, ticket_id):
    """Every rating of a ticket, oldest first (the console's panel shows the latest and its comment)."""
    rows = session.scalars(sa.select(TicketRating).where(TicketRating.ticket_id == ticket_id).order_by(TicketRating.id))
    return [{"rating": row.rating, "comment": row.comment, "rated_at": row.rated_at.isoformat(),
             "resolution_round": row.resolution_round} for row in rows]
