"""clients.inbound_secret: the secret in each client's SendGrid Inbound Parse URL

Revision ID: 0002_inbound
Revises: 0003_agents_profile
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002_inbound"
# On main this follows 0001; after the accounts branch's 0003_agents_profile it follows that (one head).
down_revision = "0003_agents_profile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("inbound_secret", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for (client_id,) in connection.execute(sa.text("SELECT id FROM clients")).all():
        connection.execute(sa.text("UPDATE clients SET inbound_secret = :secret WHERE id = :id"),
                           {"secret": secrets.token_urlsafe(32), "id": client_id})
    op.create_unique_constraint("uq_clients_inbound_secret", "clients", ["inbound_secret"])


def downgrade() -> None:
    op.drop_constraint("uq_clients_inbound_secret", "clients", type_="unique")
    op.drop_column("clients", "inbound_secret")
