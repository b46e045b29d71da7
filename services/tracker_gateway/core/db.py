"""The gateway's database: one engine per process, one session per request (on Flask's `g`)."""
from flask import current_app, g
from sqlalchemy.orm import sessionmaker

from shared.platform.database import create_engine


def make_sessionmaker(url, pool_size=10, max_overflow=4, pool_timeout=30):
    # Idle connections are pinged (shared/platform/database.py): a PostgreSQL restart must not cost the
    # next requests their connection. A request that waits pool_timeout for a connection gets
    # sqlalchemy's TimeoutError (errors.py: 503).
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout)
    return sessionmaker(bind=engine, expire_on_commit=False)


def session():
    """This request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["gateway_sessions"]()
    return g.db_session


def close_session(exc=None):
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
