"""Fixtures shared by every service's tests: real PostgreSQL databases and RabbitMQ vhosts."""
import pytest


@pytest.fixture
def amqp_uri(rabbit_config):
    """A fresh RabbitMQ vhost per test (nameko's rabbit_config, through the management API)."""
    return rabbit_config["AMQP_URI"]
