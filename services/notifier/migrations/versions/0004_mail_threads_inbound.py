"""mail_threads and inbound_messages (email in and threading), deliveries by Message-ID

Revision ID: 0004_mail
Revises: 0003_directory
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_mail"
down_revision: Union[str, Sequence[str], None] = "0003_directory"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "mail_threads",
        sa.Column("ticket_number", sa.String(length=20), primary_key=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("reply_token", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_mail_threads_ticket_id", "mail_threads", ["ticket_id"])
    op.create_index("ix_mail_threads_reply_token", "mail_threads", ["reply_token"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.BigInteger(), autoincrement=True, primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=True),
        sa.Column("recipients", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ticket_number", sa.String(length=20), nullable=True),
        sa.Column("matched_by", sa.String(length=20), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_inbound_messages_received_at", "inbound_messages", ["received_at"])
    op.create_index("ix_inbound_messages_message_id", "inbound_messages", ["message_id"])
    op.create_index("ix_inbound_messages_ticket_number", "inbound_messages", ["ticket_number"])
    op.create_index("ix_inbound_messages_client_id", "inbound_messages", ["client_id"])
    op.create_index("ix_inbound_messages_sender_time", "inbound_messages", ["sender", "received_at"])
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    op.drop_table("inbound_messages")
    op.drop_table("mail_threads")
