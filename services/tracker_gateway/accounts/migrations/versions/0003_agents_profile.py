"""agents' profile (display name, e-mail preferences, last seen, invitation), clients' settings, and
the single-use links of invitations and password resets

Revision ID: 0003_agents_profile
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_agents_profile"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()),
                                       server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.add_column("agents", sa.Column("display_name", sa.String(length=200), nullable=True))
    op.add_column("agents", sa.Column("notify_customer_messages", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("agents", sa.Column("notify_assignments", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("agents", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("agents", sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("agents", sa.Column("password_set", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "agent_links",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_agent_links_agent_id", "agent_links", ["agent_id"])


def downgrade() -> None:
    op.drop_table("agent_links")
    for column in ("password_set", "invited_at", "last_seen_at", "notify_assignments", "notify_customer_messages",
                   "display_name"):
        op.drop_column("agents", column)
    op.drop_column("clients", "settings")
