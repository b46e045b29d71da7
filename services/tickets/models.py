"""The tickets service's tables: tickets, their threads (messages, attachments), their change history, each
client's number counter, SLA policies and the outbox."""
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, relationship

from shared.platform.outbox import OutboxColumns

from . import sla as sla_rules

# The weighted full-text document of a ticket (migration 0003 creates the column from this text):
# number and customer A, title B, description C. The e-mail also goes in split at '@', so that its
# name and its domain are words of their own.
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english', ticket_number || ' ' || number::text || ' '"
    " || coalesce(customer_name, '') || ' ' || coalesce(customer_email, '') || ' '"
    " || replace(coalesce(customer_email, ''), '@', ' ')), 'A')"
    " || setweight(to_tsvector('english', title), 'B')"
    " || setweight(to_tsvector('english', description), 'C')"
)


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    # `number` orders numerically (TKT-100000 after TKT-99999); `ticket_number` is its display form. Each
    # client numbers its own tickets: both are unique within a client (the table's constraints below).
    number: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(20))
    client_id: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20))
    priority: Mapped[str] = mapped_column(sa.String(20))
    category: Mapped[str] = mapped_column(sa.String(32))
    customer_name: Mapped[str | None] = mapped_column(sa.String(200))
    customer_email: Mapped[str | None] = mapped_column(sa.String(254))
    conversation_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_by: Mapped[str | None] = mapped_column(sa.String(255))
    assigned_to: Mapped[str | None] = mapped_column(sa.String(255))
    resolution_notes: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The caller's key for this create: the same create delivered twice makes one ticket.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    # Deleting keeps the row: its number stays taken and its history stays readable.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # What search reads (services/tickets/search.py): kept by PostgreSQL, never loaded with the row.
    search_vector: Mapped[str] = mapped_column(TSVECTOR, sa.Computed(SEARCH_VECTOR_SQL), deferred=True)
    # The conversation (services/tickets/conversation.py): when an agent first answered in public,
    # the secret of the reply address, where the ticket came from, the older ticket it follows.
    first_response_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    reply_token: Mapped[str] = mapped_column(sa.String(24), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10), server_default="api")
    related_ticket: Mapped[str | None] = mapped_column(sa.String(20))
    # When the customer last wrote: the console marks a ticket unread when this is newer than the agent's last look.
    last_customer_message_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The SLA clock and targets (services/tickets/sla.py explains them; null on tickets older than 0005).
    sla_first_response_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    sla_resolution_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    sla_consumed_seconds: Mapped[float | None] = mapped_column(sa.Float)
    sla_clock_started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sla_first_response_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sla_first_response_warn_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sla_resolution_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sla_resolution_warn_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # "achieved" or "breached", written when the first response / the resolution happens (for reports).
    sla_first_response_outcome: Mapped[str | None] = mapped_column(sa.String(10))
    sla_resolution_outcome: Mapped[str | None] = mapped_column(sa.String(10))
    sla_fired: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    sla_due_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sla_next_check_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # SMS updates go to this number (E.164, e.g. +14155550123) when the client has them on.
    customer_phone: Mapped[str | None] = mapped_column(sa.String(16))
    # CSAT (services/tickets/ratings.py): the latest rating and when; which resolution this is (a rating
    # link names its round, so a ticket reopened and resolved again gets a fresh link).
    rating: Mapped[str | None] = mapped_column(sa.String(8))
    rated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolution_round: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")

    __table_args__ = (
        sa.UniqueConstraint("client_id", "number", name="ux_tickets_client_number"),
        sa.UniqueConstraint("client_id", "ticket_number", name="ux_tickets_client_ticket_number"),
        sa.CheckConstraint("rating IN ('good', 'okay', 'bad')", name="ck_tickets_rating"),
    )

    @property
    def sla(self):
        return sla_rules.state(self)


class TicketMessage(Base):
    """One entry of a ticket's thread: a customer's message, an agent's reply, or an internal note."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    author_type: Mapped[str] = mapped_column(sa.String(10))
    author_name: Mapped[str | None] = mapped_column(sa.String(200))
    author_email: Mapped[str | None] = mapped_column(sa.String(254))
    visibility: Mapped[str] = mapped_column(sa.String(10))
    channel: Mapped[str] = mapped_column(sa.String(10))
    body: Mapped[str] = mapped_column(sa.Text)
    # The whole original (an e-mail with its quoted history): kept, not loaded with the thread.
    original: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    email_message_id: Mapped[str | None] = mapped_column(sa.String(998))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    attachments: Mapped[list["TicketAttachment"]] = relationship(
        lazy="selectin", order_by="TicketAttachment.filename", back_populates="message")


# Whether the whole original is kept (the thread shows "the whole e-mail"), read with the row, the text not.
TicketMessage.has_original = column_property(TicketMessage.__table__.c.original.is_not(None))


class TicketAttachment(Base):
    """A file on a message; its bytes are loaded only when it is downloaded."""

    __tablename__ = "ticket_attachments"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket_messages.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.Integer)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    message: Mapped[TicketMessage] = relationship(back_populates="attachments")


class TicketChange(Base):
    """One line of a ticket's timeline: created, a field changed, or deleted."""

    __tablename__ = "ticket_changes"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(sa.String(255))
    action: Mapped[str] = mapped_column(sa.String(20))
    field: Mapped[str | None] = mapped_column(sa.String(40))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)


class TicketRating(Base):
    """Every rating a customer gave (a changed mind is a new row); tickets.rating is the latest."""

    __tablename__ = "ticket_ratings"
    __table_args__ = (sa.CheckConstraint("rating IN ('good', 'okay', 'bad')", name="ck_ticket_ratings_rating"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tickets.id"))
    client_id: Mapped[str] = mapped_column(sa.String(64))
    resolution_round: Mapped[int] = mapped_column(sa.Integer)
    rating: Mapped[str] = mapped_column(sa.String(8))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    rated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class TicketCounter(Base):
    """A client's last ticket number: its row lock orders that client's concurrent creates (and no
    other client's), and a rollback returns the number."""

    __tablename__ = "ticket_counters"

    client_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger)


class SlaPolicy(Base):
    """A client's SLA policy: targets per priority and a business-hours calendar (sla.parse_policy's form)."""

    __tablename__ = "sla_policies"

    client_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    policy: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(sa.String(255))


class OutboxEvent(OutboxColumns, Base):
    """ticket.* events waiting to be (or already) published: see shared.platform.outbox."""


# The list's hot paths: a tenant's tickets newest first, optionally by one field; text search (migration
# 0003 also indexes number::text with text_pattern_ops, for number prefixes typed without zeros).
sa.Index(
    "ix_tickets_client_created", Ticket.client_id, Ticket.created_at.desc(),
    postgresql_where=Ticket.deleted_at.is_(None),
)
for _field in ("status", "priority", "category", "assigned_to"):
    sa.Index(
        f"ix_tickets_client_{_field}_created", Ticket.client_id, getattr(Ticket, _field),
        Ticket.created_at.desc(), postgresql_where=Ticket.deleted_at.is_(None),
    )
sa.Index("ix_tickets_customer_email", sa.func.lower(Ticket.customer_email))
sa.Index(
    "ux_tickets_client_idempotency_key", Ticket.client_id, Ticket.idempotency_key, unique=True,
    postgresql_where=Ticket.idempotency_key.isnot(None),
)
sa.Index("ix_tickets_search", Ticket.search_vector, postgresql_using="gin")
# The SLA scheduler's tick reads only the tickets with a warning or breach due; the list sorts by due time.
sa.Index("ix_tickets_sla_next_check", Ticket.sla_next_check_at,
         postgresql_where=sa.and_(Ticket.sla_next_check_at.isnot(None), Ticket.deleted_at.is_(None)))
sa.Index("ix_tickets_client_sla_due", Ticket.client_id, Ticket.sla_due_at, postgresql_where=Ticket.deleted_at.is_(None))
sa.Index("ix_tickets_client_rated", Ticket.client_id, Ticket.rated_at,
         postgresql_where=sa.and_(Ticket.rated_at.isnot(None), Ticket.deleted_at.is_(None)))
sa.Index("ix_ticket_ratings_ticket", TicketRating.ticket_id, TicketRating.id)
sa.Index("ix_ticket_ratings_client_rated", TicketRating.client_id, TicketRating.rated_at)
# Reports (services/tickets/reports.py, migration 0008): resolutions by time, the unresolved by creation, and the
# tickets created by time with
# every column the response-time and SLA reports read, so that those read the index alone.
REPORT_COLUMNS = ("priority", "category", "channel", "assigned_to", "first_response_at", "resolved_at",
                  "sla_first_response_seconds", "sla_first_response_outcome", "sla_resolution_outcome", "sla_fired")
sa.Index("ix_tickets_client_resolved", Ticket.client_id, Ticket.resolved_at, postgresql_include=["created_at"],
         postgresql_where=sa.and_(Ticket.deleted_at.is_(None), Ticket.resolved_at.isnot(None)))
sa.Index("ix_tickets_client_unresolved", Ticket.client_id, Ticket.created_at,
         postgresql_where=sa.and_(Ticket.deleted_at.is_(None), Ticket.resolved_at.is_(None)))
sa.Index("ix_tickets_client_created_report", Ticket.client_id, Ticket.created_at, postgresql_include=list(REPORT_COLUMNS),
         postgresql_where=Ticket.deleted_at.is_(None))
sa.Index("ix_ticket_messages_email_message_id", TicketMessage.email_message_id,
         postgresql_where=TicketMessage.email_message_id.isnot(None))
sa.Index(
    "ux_ticket_messages_ticket_idempotency_key", TicketMessage.ticket_id, TicketMessage.idempotency_key, unique=True,
    postgresql_where=TicketMessage.idempotency_key.isnot(None),
)
sa.Index(
    "ix_outbox_unpublished", OutboxEvent.id, postgresql_where=OutboxEvent.published_at.is_(None)
)
