"""tickets.idempotency_key: a create delivered twice (an RPC redelivered after a crash, a client's
retry) makes one ticket

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("idempotency_key", sa.String(length=100), nullable=True))
    op.create_index(
        "ux_tickets_client_idempotency_key", "tickets", ["client_id", "idempotency_key"], unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_tickets_client_idempotency_key", table_name="tickets")
    op.drop_column("tickets", "idempotency_key")
