"""Fixtures of the fault tests: a broker reached through a proxy that the test can cut."""
import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def broker_proxy():
    """RabbitMQ through a FaultProxy: cut() is a broker outage for whoever connects through it only."""
    proxy = FaultProxy(5672).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def proxied_amqp_uri(amqp_uri, broker_proxy):
    """This test's vhost, reached through the proxy."""
    return broker_proxy.amqp_uri(amqp_uri)
