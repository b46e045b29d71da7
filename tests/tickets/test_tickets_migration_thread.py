"""Migration 0004_thread on a database that already holds tickets: each gets its own reply token, a
ticket made from a chat says so, and the migration goes down and up again (its own database)."""
import sqlalchemy as sa
from alembic import command

from services.tickets.config import MIGRATIONS_DIR
from shared.platform.migrations import alembic_config
from shared.testing import fresh_database
from shared.testing import test_database_url as database_url  # (not collected as a test)


def test_existing_tickets_get_a_reply_token_and_their_channel():
    url = database_url("deskline_tickets_migration")
    fresh_database(url, MIGRATIONS_DIR)
    config = alembic_config(MIGRATIONS_DIR, url)
    command.downgrade(config, "0003")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for number, conversation in ((1, None), (2, "c-1")):
                conn.execute(sa.text(
                    "INSERT INTO tickets (id, number, ticket_number, client_id, title, description, status, priority,"
                    " category, conversation_id, created_at, updated_at) VALUES (gen_random_uuid(), :n, :tn, 'acme',"
                    " 't', 'd', 'open', 'medium', 'general', :c, now(), now())"),
                    {"n": number, "tn": f"TKT-0000{number}", "c": conversation})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT number, reply_token, channel FROM tickets ORDER BY number")).all()
        assert [(number, channel) for number, _, channel in rows] == [(1, "api"), (2, "chat")]
        tokens = [token for _, token, _ in rows]
        assert all(len(token) == 24 and token == token.lower() for token in tokens) and len(set(tokens)) == 2
        command.downgrade(config, "0003")
        command.upgrade(config, "head")
    finally:
        engine.dispose()
