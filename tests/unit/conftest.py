"""The fast tier (`make test-fast`): tests that need no PostgreSQL, RabbitMQ or Redis.

Every test here fails if it opens a connection to one of them (their ports, on any host), even when
the code under test swallows the error (a 503 page, a consumer that retries): the tier cannot
quietly start needing a service. `make test-fast` also runs it in a network namespace with only
loopback, where they are really unreachable. Fakes of our own (SMTP, SendGrid) on other loopback
ports are fine.
"""
import socket

import eventlet.greenio.base
import psycopg2
import pytest

SERVICE_PORTS = {5432: "PostgreSQL", 5672: "RabbitMQ", 6379: "Redis", 15672: "RabbitMQ's management API"}


class ServiceReached(AssertionError):
    """A fast-tier test tried to reach a service: it belongs in an integration folder, or needs a fake."""


class ServiceGuard:
    """Refuses connections to the services' ports and to PostgreSQL, and remembers each attempt."""

    def __init__(self):
        self.attempts = []

    def refuse(self, what):
        self.attempts.append(what)
        raise ServiceReached(f"a unit test reached {what}: move it out of tests/unit or give it a fake")

    def guarded(self, connect):
        def guarded_connect(sock, address, *args):
            port = address[1] if isinstance(address, tuple) and len(address) >= 2 else None
            if port in SERVICE_PORTS:
                self.refuse(f"{SERVICE_PORTS[port]} at {address[0]}:{port}")
            return connect(sock, address, *args)
        return guarded_connect


# Every class a connection can go through: the socket module's (eventlet's green one once the root
# conftest has patched) and the plain one a green socket wraps.
SOCKET_CLASSES = {socket.socket, eventlet.greenio.base.GreenSocket, eventlet.greenio.base._original_socket}


@pytest.fixture(autouse=True)
def service_guard(monkeypatch):
    guard = ServiceGuard()
    for cls in SOCKET_CLASSES:
        for name in ("connect", "connect_ex"):
            monkeypatch.setattr(cls, name, guard.guarded(getattr(cls, name)))
    # libpq opens its sockets in C, out of Python's reach: refuse at psycopg2's door (SQLAlchemy calls it).
    monkeypatch.setattr(psycopg2, "connect", lambda *args, **kwargs: guard.refuse("PostgreSQL (psycopg2.connect)"))
    yield guard
    assert not guard.attempts, f"this unit test reached a service: {guard.attempts}"
