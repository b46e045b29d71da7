"""A ticket's conversation: its thread of messages and attachments, and what a message does to the ticket.

The rules first (plain functions over a ticket and a message, no database or broker): a customer
writing on a pending or resolved ticket reopens it, and on a ticket closed longer than the
client's reopen window starts a new ticket that links the old one; an agent's public reply may set
the status and its first one stamps `first_response_at`; internal notes change nothing.
Then the operations over a SQLAlchemy session: each writes the message, its files, the ticket's
changes and the outbox events in the caller's transaction.
"""
import base64
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.contracts.enums import TICKET_MESSAGE_ADDED, TICKET_UPDATED
from shared.contracts.exceptions import NotFound
from shared.contracts.message_schemas import (
    AttachmentSchema,
    MessageInputSchema,
    MessageSchema,
    decode_b64,
)
from shared.contracts.schemas import load
from shared.contracts.ticket_numbers import parse_ref, parse_typed
from shared.contracts.ticket_schemas import TEXT_MAX, TITLE_MAX
from shared.platform import outbox

# operations imports this module too: each uses the other's functions only when called.
from . import domain, operations, schemas, sla_operations
from .models import OutboxEvent, Ticket, TicketAttachment, TicketChange, TicketMessage

# add_message stamps its own time: only a new ticket's first messages (a transcript) bring theirs.
MESSAGE_INPUT = MessageInputSchema(exclude=("created_at",))
MESSAGE = MessageSchema()
ATTACHMENTS = AttachmentSchema(many=True)
# A customer writing on these brings the ticket back to the agents.
REOPENED_BY_CUSTOMER = ("pending", "resolved", "closed")


# -- rules --

def new_reply_token():
    """The secret of a ticket's reply address: 24 lowercase base32 characters (120 random bits)."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


def starts_new_ticket(ticket, message, now):
    """A customer writing on a ticket closed more than the reopen window ago starts a new ticket."""
    return (
        message["author_type"] == "customer"
        and ticket.status == "closed"
        and ticket.closed_at is not None
        and now - ticket.closed_at > timedelta(days=message.get("reopen_window_days", 14))
    )


def status_after(ticket, message):
    """The status the message leaves the ticket in, or None if it leaves it alone."""
    if message["author_type"] == "customer" and ticket.status in REOPENED_BY_CUSTOMER:
        return "open"
    if message["author_type"] == "agent" and message["visibility"] == "public" and message.get("status"):
        return message["status"] if message["status"] != ticket.status else None
    return None


def is_first_response(ticket, message):
    """The first public agent reply is the ticket's first response (reports and SLA read it)."""
    return ticket.first_response_at is None and message["author_type"] == "agent" and message["visibility"] == "public"


def same_address(a, b):
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()


def follow_up_data(ticket, message):
    """create_ticket's data for the ticket that follows a long-closed one: same client and customer."""
    return {
        "title": ticket.title[:TITLE_MAX],
        "description": (message["body"] or ticket.title)[:TEXT_MAX],
        "client_id": ticket.client_id,
        "category": ticket.category,
        "customer_name": ticket.customer_name,
        "customer_email": ticket.customer_email,
        "channel": message["channel"] if message["channel"] in ("chat", "email", "web") else "api",
        "related_ticket": ticket.ticket_number,
    }


# -- wire formats --

def dump_message(message, ticket, has_original=None):
    """`has_original`: given by a caller that has just written the row (reading it would cost a query)."""
    return MESSAGE.dump({
        "id": message.id, "ticket_id": ticket.id, "ticket_number": ticket.ticket_number,
        "author_type": message.author_type, "author_name": message.author_name,
        "author_email": message.author_email, "visibility": message.visibility, "channel": message.channel,
        "body": message.body, "created_at": message.created_at, "email_message_id": message.email_message_id,
        "attachments": ATTACHMENTS.dump(message.attachments),
        "has_original": message.has_original if has_original is None else has_original,
    })


# -- operations --

def store_message(session, ticket, values, now, idempotency_key=None):
    """Write one validated message and its files on `ticket`; return the row (flushed: it has its id)."""
    message = TicketMessage(
        ticket_id=ticket.id,
        created_at=values.get("created_at") or now,
        author_type=values["author_type"],
        author_name=values.get("author_name"),
        author_email=values.get("author_email"),
        visibility=values["visibility"],
        channel=values["channel"],
        body=values["body"],
        original=values.get("original"),
        email_message_id=values.get("email_message_id"),
        idempotency_key=idempotency_key,
        attachments=[
            TicketAttachment(id=uuid.uuid4(), filename=a["filename"], content_type=a["content_type"],
                             size=len(data), data=data)
            for a in values["attachments"]
            for data in (decode_b64(a["data_b64"]),)
        ],
    )
    session.add(message)
    session.flush()
    return message


def _by_key(session, ticket, key):
    """The message an earlier add_message with this key wrote: on this ticket, or on the one that followed it."""
    follow_ups = sa.select(Ticket.id).where(Ticket.related_ticket == ticket.ticket_number)
    return session.scalars(
        sa.select(TicketMessage).where(
            TicketMessage.idempotency_key == key,
            sa.or_(TicketMessage.ticket_id == ticket.id, TicketMessage.ticket_id.in_(follow_ups)),
        )
    ).first()


def add_message(session, ref, message, client_id=None, idempotency_key=None, now=None):
    """Add a message to a ticket's thread; returns ({"message", "ticket", "created_ticket"}, outbox rows).

    A repeated `idempotency_key` returns the first message (with the ticket as it is now) and records nothing.
    """
    values = load(MESSAGE_INPUT, message)
    key = load(schemas.IDEMPOTENCY, {"idempotency_key": idempotency_key})["idempotency_key"]
    now = now or datetime.now(timezone.utc)
    ticket = operations.get_ticket(session, ref, client_id, for_update=True)  # one writer per thread at a time
    if key is not None:
        earlier = _by_key(session, ticket, key)
        if earlier is not None:
            owner = session.get(Ticket, earlier.ticket_id)
            return {"message": dump_message(earlier, owner), "ticket": schemas.dump_ticket(owner),
                    "created_ticket": owner.id != ticket.id}, []
    events = []
    if starts_new_ticket(ticket, values, now):
        # A follow-up made earlier takes the customer's next messages too (unless it is long closed itself).
        follow_up = session.scalars(
            sa.select(Ticket).where(Ticket.related_ticket == ticket.ticket_number, Ticket.deleted_at.is_(None))
            .order_by(Ticket.number.desc()).limit(1).with_for_update()
        ).first()
        if follow_up is not None:
            ticket = follow_up
    created_ticket = starts_new_ticket(ticket, values, now)
    if created_ticket:
        data = follow_up_data(ticket, values)
        result, created = operations.create_ticket(session, data, now=now)
        events.append(created)
        ticket = operations.get_ticket(session, result["id"], for_update=True)
    row = store_message(session, ticket, values, now, key)
    status = status_after(ticket, values)
    if is_first_response(ticket, values):
        ticket.first_response_at = now
        sla_operations.record_first_response(session, ticket, now)
    if values["author_type"] == "customer":
        ticket.last_customer_message_at = now
    actor = values.get("author_email") or values.get("author_name")
    if status is not None:
        diff = domain.apply_changes(ticket, {"status": status}, now)
        sla_operations.follow_changes(session, ticket, diff, now)  # waiting on the customer pauses the SLA clock
        session.add(TicketChange(ticket_id=ticket.id, at=now, actor=actor, action="updated", field="status",
                                 old_value=diff["status"]["from"], new_value=diff["status"]["to"]))
        events.append(outbox.record(session, OutboxEvent, TICKET_UPDATED, {
            "ticket": schemas.dump_ticket(ticket), "changes": diff, "actor": actor, "message_id": row.id}, now))
    else:
        ticket.updated_at = now
    result = {"message": dump_message(row, ticket, has_original=values.get("original") is not None),
              "ticket": schemas.dump_ticket(ticket), "created_ticket": created_ticket}
    events.append(outbox.record(session, OutboxEvent, TICKET_MESSAGE_ADDED, {
        "ticket": result["ticket"], "message": result["message"], "actor": actor}, now))
    return result, events


def add_initial_messages(session, ticket, messages, now):
    """A new ticket's first entries (a chat transcript, the e-mail that opened it), in the given order;
    they tell nothing new (ticket.created carries them) and stamp no first response."""
    rows = [store_message(session, ticket, values, now) for values in messages]
    customer_times = [row.created_at for row in rows if row.author_type == "customer"]
    if customer_times:
        ticket.last_customer_message_at = max(customer_times)
    return [dump_message(row, ticket, has_original=values.get("original") is not None)
            for row, values in zip(rows, messages)]


def list_messages(session, ref, client_id=None, include_internal=True):
    """The ticket's thread, oldest first."""
    ticket = operations.get_ticket(session, ref, client_id)
    query = sa.select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
    if not include_internal:
        query = query.where(TicketMessage.visibility == "public")
    rows = session.scalars(query.order_by(TicketMessage.created_at, TicketMessage.id))
    return [dump_message(row, ticket) for row in rows]


def get_original(session, ref, message_id, client_id=None):
    """The whole text a message came with (an e-mail with its quoted history), for agents; NotFound for a
    message of another ticket, or one that kept nothing more than its body."""
    ticket = operations.get_ticket(session, ref, client_id)
    original = session.scalar(sa.select(TicketMessage.original).where(
        TicketMessage.id == message_id, TicketMessage.ticket_id == ticket.id)) if _is_row_id(message_id) else None
    if original is None:
        raise NotFound(f"no whole original of message {message_id!r}")
    return {"message_id": message_id, "ticket_number": ticket.ticket_number, "original": original}


def _is_row_id(value):
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 63


def get_attachment(session, ref, attachment_id, client_id=None, include_internal=True):
    """One file of the ticket's thread, its bytes in base64; NotFound for any other ticket's file."""
    ticket = operations.get_ticket(session, ref, client_id)
    try:
        attachment_uuid = uuid.UUID(str(attachment_id))
    except ValueError:
        raise NotFound(f"attachment {attachment_id!r} not found") from None
    query = (
        sa.select(TicketAttachment).join(TicketMessage)
        .where(TicketAttachment.id == attachment_uuid, TicketMessage.ticket_id == ticket.id)
        .options(sa.orm.undefer(TicketAttachment.data))
    )
    if not include_internal:
        query = query.where(TicketMessage.visibility == "public")
    attachment = session.scalars(query).one_or_none()
    if attachment is None:
        raise NotFound(f"attachment {attachment_id!r} not found")
    return {"filename": attachment.filename, "content_type": attachment.content_type, "size": attachment.size,
            "data_b64": base64.b64encode(attachment.data).decode()}


def set_email_message_id(session, message_id, email_message_id):
    """Record the Message-ID an agent's reply went out with, so the customer's answer finds the ticket."""
    row = session.get(TicketMessage, message_id) if isinstance(message_id, int) else None
    if row is None:
        raise NotFound(f"message {message_id!r} not found")
    row.email_message_id = load(schemas.EMAIL_MESSAGE_ID, {"email_message_id": email_message_id})["email_message_id"]
    return dump_message(row, session.get(Ticket, row.ticket_id))


def _live(query, client_id):
    query = query.where(Ticket.deleted_at.is_(None))
    return query if client_id is None else query.where(Ticket.client_id == client_id)


def find_ticket_for_email(session, client_id=None, reply_tokens=(), message_ids=(), number=None, sender=None):
    """The ticket an inbound e-mail belongs to, {"ticket", "matched_by"}, or None.

    In this order: a reply token from a recipient address; one of our Message-IDs in In-Reply-To or
    References; the [TKT-nnnnn] subject tag, only when the sender is the ticket's customer.
    """
    tokens = [t.strip().lower() for t in reply_tokens or () if isinstance(t, str) and t.strip()]
    if tokens:
        ticket = session.scalars(_live(sa.select(Ticket).where(Ticket.reply_token.in_(tokens)), client_id)).first()
        if ticket is not None:
            return {"ticket": schemas.dump_ticket(ticket), "matched_by": "token"}
    ids = [m.strip() for m in message_ids or () if isinstance(m, str) and m.strip()]
    if ids:
        ticket = session.scalars(_live(
            sa.select(Ticket).join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
            .where(TicketMessage.email_message_id.in_(ids))
            .order_by(TicketMessage.created_at.desc()), client_id)).first()
        if ticket is not None:
            return {"ticket": schemas.dump_ticket(ticket), "matched_by": "headers"}
    canonical = parse_typed(number) if isinstance(number, str) else (
        parse_typed(str(number)) if isinstance(number, int) and not isinstance(number, bool) else None)
    if canonical and sender:
        # Numbers are per client: without a client (no `<slug>@` recipient) the number may name a ticket
        # at several; the one whose customer sent this mail is it, the newest if more than one.
        parsed = parse_ref(canonical)
        candidates = session.scalars(_live(sa.select(Ticket).where(Ticket.number == parsed[1]), client_id)
                                     .order_by(Ticket.created_at.desc()))
        ticket = next((t for t in candidates if same_address(t.customer_email, sender)), None)
        if ticket is not None:
            return {"ticket": schemas.dump_ticket(ticket), "matched_by": "subject"}
    return None
