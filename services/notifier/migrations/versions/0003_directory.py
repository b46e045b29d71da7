"""directory_clients and directory_agents: the notifier's copy of the gateway's clients and agents

Revision ID: 0003_directory
Revises: 0002
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_directory"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "directory_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("inbound_address", sa.String(length=254), nullable=True),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("snapshot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_directory_clients_slug"), "directory_clients", ["slug"], unique=False)
    op.create_table(
        "directory_agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("notify_customer_messages", sa.Boolean(), nullable=False),
        sa.Column("notify_assignments", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["directory_clients.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_directory_agents_client_id"), "directory_agents", ["client_id"], unique=False)
    op.create_index(op.f("ix_directory_agents_email"), "directory_agents", ["email"], unique=False)


def downgrade() -> None:
    op.drop_table("directory_agents")
    op.drop_table("directory_clients")
