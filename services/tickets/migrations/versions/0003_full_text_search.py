"""tickets.search_vector: full-text search (websearch_to_tsquery over a weighted tsvector, GIN),
replacing the trigram substring search; number::text indexed for ticket-number prefixes

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A copy of models.SEARCH_VECTOR_SQL as it was when this migration was written: a migration
# must not change when the model later does.
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english', ticket_number || ' ' || number::text || ' '"
    " || coalesce(customer_name, '') || ' ' || coalesce(customer_email, '') || ' '"
    " || replace(coalesce(customer_email, ''), '@', ' ')), 'A')"
    " || setweight(to_tsvector('english', title), 'B')"
    " || setweight(to_tsvector('english', description), 'C')"
)


def upgrade() -> None:
    # STORED: computed once per write, not per search; existing rows are filled by the ALTER.
    op.execute(f"ALTER TABLE tickets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({SEARCH_VECTOR_SQL}) STORED")
    op.execute("CREATE INDEX ix_tickets_search ON tickets USING gin (search_vector)")
    op.execute("CREATE INDEX ix_tickets_number_text ON tickets ((number::text) text_pattern_ops)")
    op.drop_index("ix_tickets_search_trgm", table_name="tickets")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX ix_tickets_search_trgm ON tickets USING gin ((ticket_number || ' ' || title || ' '"
        " || description || ' ' || coalesce(customer_name, '') || ' ' || coalesce(customer_email, ''))"
        " gin_trgm_ops)"
    )
    op.drop_index("ix_tickets_number_text", table_name="tickets")
    op.drop_index("ix_tickets_search", table_name="tickets")
    op.drop_column("tickets", "search_vector")
