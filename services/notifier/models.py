"""The notifier's tables: the delivery log (one row per email owed for an event), and the
customer-visible updates waiting out their coalescing window (coalescing.py)."""
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# pending: waiting for its next attempt; sending: an attempt is in flight (until next_attempt_at,
# its lease); sent; skipped: nobody to email; failed: permanently refused; dead: attempts exhausted.
PENDING, SENDING, SENT, SKIPPED, FAILED, DEAD = "pending", "sending", "sent", "skipped", "failed", "dead"
DELIVERY_STATUSES = (PENDING, SENDING, SENT, SKIPPED, FAILED, DEAD)
# Statuses the retry timer still works on.
OPEN_STATUSES = (PENDING, SENDING)


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    __tablename__ = "deliveries"
    # The idempotency key: a redelivered event finds its row and sends nothing more.
    __table_args__ = (sa.UniqueConstraint("event_id", "kind", name="uq_deliveries_event_kind"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    event_type: Mapped[str] = mapped_column(sa.String(60))
    kind: Mapped[str] = mapped_column(sa.String(20))
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    recipient: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str | None] = mapped_column(sa.String(400))
    # What the email is rendered from: only what the customer may see (emails.plan decides).
    context: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(sa.String(20))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # Our Message-ID header: the same on every attempt, so a resent copy is recognisably the same.
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    provider_message_id: Mapped[str | None] = mapped_column(sa.String(255))
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    next_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


# The retry timer's scan: only rows still in play, by when they are due.
sa.Index(
    "ix_deliveries_due", Delivery.next_attempt_at,
    postgresql_where=Delivery.status.in_(OPEN_STATUSES),
)


class PendingUpdate(Base):
    """One ticket's customer-visible changes not emailed yet: merged until `due_at`, then one email.

    `changes` is {field: {"from", "from_at", "to", "to_at"}}: the value before the earliest change
    merged and after the latest, each with its ticket version (updated_at), so that events merged
    in any order, or twice, give the same result.
    """

    __tablename__ = "pending_updates"

    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(20))
    # The first merged event: its id names the email's delivery (and so its Message-ID).
    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    recipient: Mapped[str | None] = mapped_column(sa.String(254))
    # The newest customer view of the ticket merged, and its version.
    ticket: Mapped[dict] = mapped_column(JSONB)
    version: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    changes: Mapped[dict] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class MergedEvent(Base):
    """A ticket.updated event already merged (or folded into a resolution email): a redelivery of
    it adds nothing, even after its pending email went out."""

    __tablename__ = "merged_events"

    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    merged_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)


# Outcomes of an inbound mail (inbound/intake.py): added to a ticket, a new ticket, ignored (auto-reply,
# bounce, loop), refused (a limit, an unknown recipient), unparseable (kept for admins), failed (the
# hand-off to tickets failed: the sender retries).
INBOUND_STATUSES = ("added", "created", "ignored", "refused", "unparseable", "failed")


class MailThread(Base):
    """What a ticket's emails thread on: its reply token (the Reply-To address) and whose it is,
    kept from the ticket events (the coalesced update email has only the customer's view)."""

    __tablename__ = "mail_threads"

    # By ticket id: a number names a ticket only within its client.
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(20))
    client_id: Mapped[str | None] = mapped_column(sa.String(64))
    reply_token: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class InboundMessage(Base):
    """One inbound email and what became of it; the raw bytes are kept when it could not be read
    or handed over (an admin can look at it, nothing is lost)."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(sa.String(20))  # smtp | sendgrid
    sender: Mapped[str | None] = mapped_column(sa.String(254))
    recipients: Mapped[list] = mapped_column(JSONB)
    subject: Mapped[str | None] = mapped_column(sa.String(400))
    message_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    ticket_number: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    matched_by: Mapped[str | None] = mapped_column(sa.String(20))
    size: Mapped[int] = mapped_column(sa.Integer)
    raw: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # The client it belongs to (its ticket's, else the one owning a `<slug>@domain` recipient); admins
    # see their own client's mail only.
    client_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)


# The per-sender hourly limit counts by sender and time.
sa.Index("ix_inbound_messages_sender_time", InboundMessage.sender, InboundMessage.received_at)
# In-Reply-To/References matching looks our own Message-IDs up.
sa.Index("ix_deliveries_message_id", Delivery.message_id)


class DirectoryClient(Base):
    """The notifier's copy of one client, as the gateway's last directory snapshot had it
    (services/notifier/directory.py). `snapshot_at` is that snapshot's time: an older one is ignored."""

    __tablename__ = "directory_clients"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    inbound_address: Mapped[str | None] = mapped_column(sa.String(254))
    settings: Mapped[dict] = mapped_column(JSONB)
    snapshot_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class DirectoryAgent(Base):
    """One agent of a client, replaced with the client's whole list on every snapshot."""

    __tablename__ = "directory_agents"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("directory_clients.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(sa.Boolean)
    notify_customer_messages: Mapped[bool] = mapped_column(sa.Boolean)
    notify_assignments: Mapped[bool] = mapped_column(sa.Boolean)
