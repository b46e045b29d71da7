"""saved views and canned replies

Revision ID: 0004_views_canned
Revises: 0003_agents_profile
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_views_canned"
down_revision = "0002_inbound"
branch_labels = None
depends_on = None


def _owned(name, *columns):
    op.create_table(
        name,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        *columns,
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(f"ix_{name}_client_owner", name, ["client_id", "owner_id"])


def upgrade() -> None:
    for name, column in (("saved_views", sa.Column("query", sa.String(length=1000), nullable=False)),
                         ("canned_replies", sa.Column("body", sa.Text(), nullable=False))):
        _owned(name, column)


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_table("saved_views")
