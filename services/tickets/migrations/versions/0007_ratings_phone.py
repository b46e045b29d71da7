"""CSAT and SMS: tickets.rating / rated_at (the latest rating), resolution_round (which resolution a rating
link belongs to), customer_phone (E.164); ticket_ratings keeps every rating given

Revision ID: 0007_ratings_phone
Revises: 0005_sla
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007_ratings_phone"
down_revision: Union[str, Sequence[str], None] = "0005_sla"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("customer_phone", sa.String(16)))
    op.add_column("tickets", sa.Column("rating", sa.String(8)))
    op.add_column("tickets", sa.Column("rated_at", sa.DateTime(timezone=True)))
    # Tickets resolved before this migration count as their first resolution.
    op.add_column("tickets", sa.Column("resolution_round", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE tickets SET resolution_round = 1 WHERE resolved_at IS NOT NULL")
    op.create_check_constraint("ck_tickets_rating", "tickets", "rating IN ('good', 'okay', 'bad')")
    op.create_table(
        "ticket_ratings",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Uuid(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("resolution_round", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating IN ('good', 'okay', 'bad')", name="ck_ticket_ratings_rating"),
    )
    op.create_index("ix_ticket_ratings_ticket", "ticket_ratings", ["ticket_id", "id"])
    op.create_index("ix_ticket_ratings_client_rated", "ticket_ratings", ["client_id", "rated_at"])
    op.create_index("ix_tickets_client_rated", "tickets", ["client_id", "rated_at"],
                    postgresql_where=sa.text("rated_at IS NOT NULL AND deleted_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_tickets_client_rated", table_name="tickets")
    op.drop_table("ticket_ratings")
    op.drop_constraint("ck_tickets_rating", "tickets")
    for name in ("resolution_round", "rated_at", "rating", "customer_phone"):
        op.drop_column("tickets", name)
