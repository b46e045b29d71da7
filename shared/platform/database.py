"""Pooled PostgreSQL connections that survive a server restart without a ping on every checkout.

SQLAlchemy's `pool_pre_ping` sends a round trip before every checkout: under load, one more query per
unit of work (7% of the tickets service's CPU, 5% of the notifier's, measured with bench/day.py). A
connection in use within the last IDLE_PING_SECONDS cannot be stale from a restart that finished since:
a restart takes longer than that, and a connection used while the server was away failed with a
disconnection error, on which SQLAlchemy discards every connection of the pool older than the error.
So a connection is pinged only when it sat idle longer than that: after a PostgreSQL restart the first
request still gets a live connection (docs/operations.md), and a busy pool pays nothing.
"""
import sys
import time

import sqlalchemy as sa
from nameko_sqlalchemy import Database as _Database
from sqlalchemy import exc

IDLE_PING_SECONDS = 1.0


def ping(dbapi_connection):
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def ping_when_idle(engine, idle_seconds=IDLE_PING_SECONDS, clock=time.monotonic):
    """Check a pooled connection on checkout if it was idle longer than `idle_seconds`; a dead one is
    replaced (the pool retries the checkout with a new connection)."""

    database = sys.modules[__name__]  # `ping` looked up at each call (tests count the pings)

    @sa.event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        record.info["returned_at"] = clock()

    @sa.event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy):
        returned_at = record.info.get("returned_at")
        if returned_at is None or clock() - returned_at <= idle_seconds:
            return  # new, or in use a moment ago
        try:
            database.ping(dbapi_connection)
        except Exception as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None) or isinstance(
                    error, engine.dialect.loaded_dbapi.OperationalError):
                raise exc.DisconnectionError() from error
            raise
    return engine


def create_engine(url, **options):
    """`sqlalchemy.create_engine` with `ping_when_idle` (instead of `pool_pre_ping`)."""
    return ping_when_idle(sa.create_engine(url, **options))


class Database(_Database):
    """nameko-sqlalchemy's provider, its engine pinging only idle connections (`ping_when_idle`)."""

    def setup(self):
        super().setup()
        ping_when_idle(self.engine)
