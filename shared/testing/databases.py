"""Test databases: one factory for the fixtures every service's tests need (a migrated database for the
session, its engine, and the database emptied before each test)."""
import pytest
import sqlalchemy as sa

from shared.testing import empty_tables, fresh_database, test_database_url


def database_fixtures(prefix, database, migrations_dir, metadata, keep=(), reset=None):
    """Three pytest fixtures, `<prefix>_db_url` (session: a fresh, migrated database), `<prefix>_engine`
    (session) and `<prefix>_db` (each test: every table emptied but those in `keep`, then `reset(conn)`
    if given; returns the url). Assign them in a fixtures module to names pytest will collect."""
    url = test_database_url(database)

    @pytest.fixture(scope="session", name=f"{prefix}_db_url")
    def db_url():
        fresh_database(url, migrations_dir)
        return url

    @pytest.fixture(scope="session", name=f"{prefix}_engine")
    def engine(request):
        made = sa.create_engine(request.getfixturevalue(f"{prefix}_db_url"))
        yield made
        made.dispose()

    @pytest.fixture(name=f"{prefix}_db")
    def db(request):
        made = request.getfixturevalue(f"{prefix}_engine")
        empty_tables(made, metadata, keep=keep)
        if reset is not None:
            with made.begin() as conn:
                reset(conn)
        return request.getfixturevalue(f"{prefix}_db_url")

    return db_url, engine, db
