"""SLA: each ticket's clock, targets, due and warning instants and outcomes; sla_policies per client

Revision ID: 0005_sla
Revises: 0004_thread
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0005_sla"
down_revision: Union[str, Sequence[str], None] = "0004_thread"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INSTANTS = ("sla_clock_started_at", "sla_first_response_due_at", "sla_first_response_warn_at",
            "sla_resolution_due_at", "sla_resolution_warn_at", "sla_due_at", "sla_next_check_at")


def upgrade() -> None:
    # Tickets created before this migration have no SLA (all null): their targets were never promised.
    op.add_column("tickets", sa.Column("sla_first_response_seconds", sa.Integer()))
    op.add_column("tickets", sa.Column("sla_resolution_seconds", sa.Integer()))
    op.add_column("tickets", sa.Column("sla_consumed_seconds", sa.Float()))
    for name in INSTANTS:
        op.add_column("tickets", sa.Column(name, sa.DateTime(timezone=True)))
    op.add_column("tickets", sa.Column("sla_first_response_outcome", sa.String(10)))
    op.add_column("tickets", sa.Column("sla_resolution_outcome", sa.String(10)))
    op.add_column("tickets", sa.Column("sla_fired", sa.SmallInteger(), nullable=False, server_default="0"))
    op.create_index("ix_tickets_sla_next_check", "tickets", ["sla_next_check_at"],
                    postgresql_where=sa.text("sla_next_check_at IS NOT NULL AND deleted_at IS NULL"))
    op.create_index("ix_tickets_client_sla_due", "tickets", ["client_id", "sla_due_at"],
                    postgresql_where=sa.text("deleted_at IS NULL"))
    op.create_table(
        "sla_policies",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("policy", JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(255)),
    )


def downgrade() -> None:
    op.drop_table("sla_policies")
    op.drop_index("ix_tickets_client_sla_due", table_name="tickets")
    op.drop_index("ix_tickets_sla_next_check", table_name="tickets")
    for name in ("sla_fired", "sla_resolution_outcome", "sla_first_response_outcome", *reversed(INSTANTS),
                 "sla_consumed_seconds", "sla_resolution_seconds", "sla_first_response_seconds"):
        op.drop_column("tickets", name)
