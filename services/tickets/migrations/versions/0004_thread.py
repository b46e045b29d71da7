"""the ticket's conversation: ticket_messages, ticket_attachments; tickets.first_response_at,
reply_token (filled for existing tickets), channel, related_ticket, last_customer_message_at

Revision ID: 0004_thread
Revises: 0003
"""
import base64
import secrets
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_thread"
down_revision: Union[str, Sequence[str], None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _token():
    # A copy of conversation.new_reply_token as written: 24 lowercase base32 characters (120 bits).
    return base64.b32encode(secrets.token_bytes(15)).decode().lower()


def upgrade() -> None:
    op.add_column("tickets", sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tickets", sa.Column("reply_token", sa.String(length=24), nullable=True))
    op.add_column("tickets", sa.Column("channel", sa.String(length=10), server_default="api", nullable=False))
    op.add_column("tickets", sa.Column("related_ticket", sa.String(length=20), nullable=True))
    op.add_column("tickets", sa.Column("last_customer_message_at", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    # Existing tickets: those made from a chat say so; each gets its own reply address.
    connection.execute(sa.text("UPDATE tickets SET channel = 'chat' WHERE conversation_id IS NOT NULL"))
    ids = connection.execute(sa.text("SELECT id FROM tickets")).scalars().all()
    if ids:
        connection.execute(sa.text("UPDATE tickets SET reply_token = :token WHERE id = :id"),
                           [{"id": ticket_id, "token": _token()} for ticket_id in ids])
    op.alter_column("tickets", "reply_token", nullable=False)
    op.create_unique_constraint("tickets_reply_token_key", "tickets", ["reply_token"])

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author_type", sa.String(length=10), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("author_email", sa.String(length=254), nullable=True),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("original", sa.Text(), nullable=True),
        sa.Column("email_message_id", sa.String(length=998), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_messages_ticket_id", "ticket_messages", ["ticket_id"])
    op.create_index("ix_ticket_messages_email_message_id", "ticket_messages", ["email_message_id"],
                    postgresql_where=sa.text("email_message_id IS NOT NULL"))
    op.create_index("ux_ticket_messages_ticket_idempotency_key", "ticket_messages", ["ticket_id", "idempotency_key"],
                    unique=True, postgresql_where=sa.text("idempotency_key IS NOT NULL"))
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["ticket_messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_attachments_message_id", "ticket_attachments", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_ticket_attachments_message_id", table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
    op.drop_index("ux_ticket_messages_ticket_idempotency_key", table_name="ticket_messages")
    op.drop_index("ix_ticket_messages_email_message_id", table_name="ticket_messages")
    op.drop_index("ix_ticket_messages_ticket_id", table_name="ticket_messages")
    op.drop_table("ticket_messages")
    op.drop_constraint("tickets_reply_token_key", "tickets", type_="unique")
    op.drop_column("tickets", "last_customer_message_at")
    op.drop_column("tickets", "related_ticket")
    op.drop_column("tickets", "channel")
    op.drop_column("tickets", "reply_token")
    op.drop_column("tickets", "first_response_at")
