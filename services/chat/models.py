"""The chat service's tables: conversations, their messages, their ticket links and the outbox."""
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.platform.outbox import OutboxColumns


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(sa.String(64))
    customer_name: Mapped[str] = mapped_column(sa.String(200))
    customer_email: Mapped[str] = mapped_column(sa.String(254))
    status: Mapped[str] = mapped_column(sa.String(20))
    assigned_to: Mapped[str | None] = mapped_column(sa.String(255))
    # SHA-256 of the customer's conversation token: a leaked table does not let anyone resume a chat.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # Newest activity (the created time until the first message): what lists sort by.
    last_message_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(sa.String(255))
    # The newest message, kept here so a list needs no join: id, author and a short preview.
    last_message_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_message_author: Mapped[str | None] = mapped_column(sa.String(20))
    last_message_author_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_message_preview: Mapped[str | None] = mapped_column(sa.String(200))
    # Read markers, one per side: the highest message id that side has seen.
    agent_read_up_to: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    customer_read_up_to: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Missed: the customer left before any agent answered (domain.is_missed); it stays in the
    # console's "Missed" list until an agent marks it handled.
    missed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    handled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(sa.String(255))
    # The chat page the customer started on: the transcript e-mail's way back.
    page_url: Mapped[str | None] = mapped_column(sa.String(500))
    # Display copy of the links, in link order; ticket_links holds the idempotency key.
    ticket_numbers: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)), default=list)


class Message(Base):
    __tablename__ = "messages"

    # Ids grow in commit order within a conversation (posts hold its row lock): a cursor for polling.
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("conversations.id"))
    author: Mapped[str] = mapped_column(sa.String(20))
    author_name: Mapped[str] = mapped_column(sa.String(200))
    author_id: Mapped[str | None] = mapped_column(sa.String(255))
    # Plain text as written: whoever renders it escapes it.
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class TicketLink(Base):
    """A ticket created from a conversation. The unique ticket_id makes a redelivered
    ticket.created a no-op: one link, one system message."""

    __tablename__ = "ticket_links"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("conversations.id"), index=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True)
    ticket_number: Mapped[str] = mapped_column(sa.String(20))
    event_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    message_id: Mapped[int] = mapped_column(sa.ForeignKey("messages.id"))
    linked_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class OutboxEvent(OutboxColumns, Base):
    """chat.* events waiting to be (or already) published: see shared.platform.outbox."""


# The list's hot paths: a tenant's conversations by newest activity, optionally by status or assignee.
sa.Index("ix_conversations_client_activity", Conversation.client_id, Conversation.last_message_at.desc())
for _field in ("status", "assigned_to"):
    sa.Index(
        f"ix_conversations_client_{_field}_activity", Conversation.client_id, getattr(Conversation, _field),
        Conversation.last_message_at.desc(),
    )
sa.Index("ix_conversations_client_missed", Conversation.client_id, Conversation.missed_at.desc(),
         postgresql_where=sa.and_(Conversation.missed_at.isnot(None), Conversation.handled_at.is_(None)))
# A thread's pages and unread counts.
sa.Index("ix_messages_conversation_id", Message.conversation_id, Message.id)
sa.Index(
    "ix_outbox_unpublished", OutboxEvent.id, postgresql_where=OutboxEvent.published_at.is_(None)
)
