"""Reports: indexes the report queries read (services/tickets/reports.py) - resolutions per client by time, the
unresolved tickets per client by creation (the backlog), and the tickets created per client by time with every
column a report reads (index-only scans)

Revision ID: 0008_reports
Revises: 0007_ratings_phone
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008_reports"
down_revision: Union[str, Sequence[str], None] = "0007_ratings_phone"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# What the response-time and SLA reports read of each ticket created in the range (models.REPORT_COLUMNS).
REPORT_COLUMNS = ("priority", "category", "channel", "assigned_to", "first_response_at", "resolved_at",
                  "sla_first_response_seconds", "sla_first_response_outcome", "sla_resolution_outcome", "sla_fired")


def upgrade() -> None:
    op.create_index("ix_tickets_client_resolved", "tickets", ["client_id", "resolved_at"], postgresql_include=["created_at"],
                    postgresql_where=sa.text("deleted_at IS NULL AND resolved_at IS NOT NULL"))
    op.create_index("ix_tickets_client_unresolved", "tickets", ["client_id", "created_at"],
                    postgresql_where=sa.text("deleted_at IS NULL AND resolved_at IS NULL"))
    op.create_index("ix_tickets_client_created_report", "tickets", ["client_id", "created_at"],
                    postgresql_include=list(REPORT_COLUMNS), postgresql_where=sa.text("deleted_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_tickets_client_created_report", table_name="tickets")
    op.drop_index("ix_tickets_client_unresolved", table_name="tickets")
    op.drop_index("ix_tickets_client_resolved", table_name="tickets")
