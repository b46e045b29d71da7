"""Ticket numbers per client: one counter row per client, numbers unique within a client

Each client's counter starts at its highest existing number (deleted tickets included: their numbers
stay taken), so existing tickets keep their numbers and new ones continue above them.

Revision ID: 0006_client_numbering
Revises: 0005_sla
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006_client_numbering"
down_revision: Union[str, Sequence[str], None] = "0005_sla"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "ticket_counters",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO ticket_counters (client_id, value) SELECT client_id, max(number) FROM tickets GROUP BY client_id")
    op.drop_table("counters")
    op.drop_constraint("tickets_number_key", "tickets", type_="unique")
    op.drop_constraint("tickets_ticket_number_key", "tickets", type_="unique")
    op.create_unique_constraint("ux_tickets_client_number", "tickets", ["client_id", "number"])
    op.create_unique_constraint("ux_tickets_client_ticket_number", "tickets", ["client_id", "ticket_number"])
    # The public tracker and the read model's rebuild find a number across clients.
    op.create_index("ix_tickets_number", "tickets", ["number"])


def downgrade() -> None:
    # Only possible while no two clients share a number (before any client numbered past another's).
    op.drop_index("ix_tickets_number", "tickets")
    op.drop_constraint("ux_tickets_client_ticket_number", "tickets", type_="unique")
    op.drop_constraint("ux_tickets_client_number", "tickets", type_="unique")
    op.create_unique_constraint("tickets_number_key", "tickets", ["number"])
    op.create_unique_constraint("tickets_ticket_number_key", "tickets", ["ticket_number"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO counters (name, value) SELECT 'ticket_number', coalesce(max(number), 0) FROM tickets")
    op.drop_table("ticket_counters")
