"""initial schema

Revision ID: 0001
Revises: 

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Trigram index for free-text search (a contrib extension, allowed on managed PostgreSQL).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('counters',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=60), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    op.create_index('ix_outbox_unpublished', 'outbox', ['id'], unique=False, postgresql_where=sa.text('published_at IS NULL'))
    op.create_table('tickets',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('ticket_number', sa.String(length=20), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('customer_name', sa.String(length=200), nullable=True),
    sa.Column('customer_email', sa.String(length=254), nullable=True),
    sa.Column('conversation_id', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=255), nullable=True),
    sa.Column('assigned_to', sa.String(length=255), nullable=True),
    sa.Column('resolution_notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('ticket_number')
    )
    op.create_index('ix_tickets_client_assigned_to_created', 'tickets', ['client_id', 'assigned_to', sa.literal_column('created_at DESC')], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_tickets_client_category_created', 'tickets', ['client_id', 'category', sa.literal_column('created_at DESC')], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_tickets_client_created', 'tickets', ['client_id', sa.literal_column('created_at DESC')], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_tickets_client_priority_created', 'tickets', ['client_id', 'priority', sa.literal_column('created_at DESC')], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_tickets_client_status_created', 'tickets', ['client_id', 'status', sa.literal_column('created_at DESC')], unique=False, postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_tickets_customer_email', 'tickets', [sa.literal_column('lower(customer_email)')], unique=False)
    op.execute(
        "CREATE INDEX ix_tickets_search_trgm ON tickets USING gin ((ticket_number || ' ' || title || ' '"
        " || description || ' ' || coalesce(customer_name, '') || ' ' || coalesce(customer_email, ''))"
        " gin_trgm_ops)"
    )
    op.create_table('ticket_changes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=255), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ticket_changes_ticket_id'), 'ticket_changes', ['ticket_id'], unique=False)
    op.execute("INSERT INTO counters (name, value) VALUES ('ticket_number', 0)")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_ticket_changes_ticket_id'), table_name='ticket_changes')
    op.drop_table('ticket_changes')
    op.drop_index('ix_tickets_search_trgm', table_name='tickets')
    op.drop_index('ix_tickets_customer_email', table_name='tickets')
    op.drop_index('ix_tickets_client_status_created', table_name='tickets', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_tickets_client_priority_created', table_name='tickets', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_tickets_client_created', table_name='tickets', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_tickets_client_category_created', table_name='tickets', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_tickets_client_assigned_to_created', table_name='tickets', postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_table('tickets')
    op.drop_index('ix_outbox_unpublished', table_name='outbox', postgresql_where=sa.text('published_at IS NULL'))
    op.drop_table('outbox')
    op.drop_table('counters')

