"""The fast tier's guard (tests/unit/conftest.py) itself: reaching a service fails, and a fake of ours
on another loopback port is fine."""
import socket
import threading

import pytest
import redis
import sqlalchemy as sa
from kombu import Connection

from tests.unit.conftest import SERVICE_PORTS, ServiceReached


@pytest.fixture
def forgiven(service_guard):
    """Each test here reaches a service on purpose: the guard's record is checked, then cleared."""
    yield service_guard.attempts
    service_guard.attempts.clear()


def test_redis_is_refused(forgiven):
    with pytest.raises((ServiceReached, redis.ConnectionError)):
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    assert forgiven and "Redis" in forgiven[0]


def test_rabbitmq_is_refused(forgiven):
    with pytest.raises(Exception):
        with Connection("amqp://guest:guest@127.0.0.1:5672//", connect_timeout=1) as connection:
            connection.ensure_connection(max_retries=1)
    assert forgiven and "RabbitMQ" in forgiven[0]


def test_postgresql_is_refused(forgiven):
    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    with pytest.raises(ServiceReached):
        engine.connect()
    assert forgiven == ["PostgreSQL (psycopg2.connect)"]


@pytest.mark.parametrize("port", sorted(SERVICE_PORTS))
def test_any_host_on_a_service_port_is_refused(forgiven, port):
    with socket.socket() as sock, pytest.raises(ServiceReached):
        sock.connect(("192.0.2.1", port))
    assert len(forgiven) == 1


def test_a_fake_of_ours_on_another_loopback_port_is_reachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted = threading.Thread(target=lambda: server.accept()[0].close())
        accepted.start()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
        accepted.join(2)
