"""mail_threads keyed by ticket id: ticket numbers repeat across clients since tickets 0006

Revision ID: 0007_client_numbering
Revises: 0004_mail
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0007_client_numbering"
down_revision: Union[str, Sequence[str], None] = "0004_mail"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.drop_constraint("mail_threads_pkey", "mail_threads", type_="primary")
    op.drop_index("ix_mail_threads_ticket_id", "mail_threads")
    op.create_primary_key("mail_threads_pkey", "mail_threads", ["ticket_id"])


def downgrade() -> None:
    op.drop_constraint("mail_threads_pkey", "mail_threads", type_="primary")
    op.create_primary_key("mail_threads_pkey", "mail_threads", ["ticket_number"])
    op.create_index("ix_mail_threads_ticket_id", "mail_threads", ["ticket_id"])
