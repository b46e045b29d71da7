"""shared/platform/database.py against a real PostgreSQL: a busy connection is not pinged, an idle one
is, and one the server dropped while it sat idle is replaced before anyone uses it."""
import sqlalchemy as sa

from shared import testing
from shared.platform import database
from shared.platform.database import ping_when_idle
from shared.platform.migrations import ensure_database


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _engine(clock):
    url = testing.test_database_url("deskline_platform")
    ensure_database(url)
    return ping_when_idle(sa.create_engine(url, pool_size=1, max_overflow=0), clock=clock)


def _backend_pid(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_used_a_moment_ago_is_not_pinged_an_idle_one_is(monkeypatch):
    clock = Clock()
    engine = _engine(clock)
    pings = []
    real_ping = database.ping
    monkeypatch.setattr(database, "ping", lambda connection: (pings.append("SELECT 1"), real_ping(connection)))
    try:
        first = _backend_pid(engine)
        clock.now += 0.5
        assert _backend_pid(engine) == first
        assert pings == []  # busy: no round trip before the work
        clock.now += 5
        assert _backend_pid(engine) == first
        assert pings == ["SELECT 1"]
    finally:
        engine.dispose()


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use():
    clock = Clock()
    engine = _engine(clock)
    try:
        first = _backend_pid(engine)
        admin = sa.create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        admin.dispose()
        clock.now += 5  # as after a restart: longer idle than IDLE_PING_SECONDS
        second = _backend_pid(engine)  # no error: the dead connection was replaced at checkout
        assert second != first
    finally:
        engine.dispose()
