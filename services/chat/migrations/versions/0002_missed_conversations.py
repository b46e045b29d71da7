"""missed conversations: when the customer left unanswered, when an agent handled it; the chat page

Revision ID: 0002_chat_missed
Revises: 0001

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002_chat_missed'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('conversations', sa.Column('missed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('conversations', sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('conversations', sa.Column('handled_by', sa.String(length=255), nullable=True))
    op.add_column('conversations', sa.Column('page_url', sa.String(length=500), nullable=True))
    # The console's "Missed" list: a client's missed conversations nobody has handled yet.
    op.create_index('ix_conversations_client_missed', 'conversations', ['client_id', sa.text('missed_at DESC')],
                    postgresql_where=sa.text('missed_at IS NOT NULL AND handled_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_conversations_client_missed', table_name='conversations')
    for column in ('page_url', 'handled_by', 'handled_at', 'missed_at'):
        op.drop_column('conversations', column)
