"""Fixtures for the tickets service: its own test database, sessions, a running service."""
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from services.tickets.config import MIGRATIONS_DIR
from services.tickets.models import Base
from services.tickets.service import TicketsService
from shared.testing import fresh_database, rpc_proxy

TICKETS_TEST_DB = "postgresql+psycopg2://postgres@127.0.0.1:5432/deskline_tickets_test"


@pytest.fixture(scope="session")
def tickets_db_url():
    fresh_database(TICKETS_TEST_DB, MIGRATIONS_DIR)
    return TICKETS_TEST_DB


@pytest.fixture(scope="session")
def tickets_engine(tickets_db_url):
    engine = sa.create_engine(tickets_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tickets_db(tickets_engine, tickets_db_url):
    """An empty tickets database (counter back at zero) for each test."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables if table.name != "counters")
    with tickets_engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("UPDATE counters SET value = 0"))
    return tickets_db_url


@pytest.fixture
def session_factory(tickets_engine, tickets_db):
    return sessionmaker(bind=tickets_engine)


@pytest.fixture
def tickets_config(amqp_uri, tickets_db):
    return {"AMQP_URI": amqp_uri, "DB_URIS": {"tickets:Base": tickets_db}}


@pytest.fixture
def tickets_service(container_factory, tickets_config):
    container = container_factory(TicketsService, tickets_config)
    container.start()
    return container


@pytest.fixture
def tickets_rpc(tickets_service, amqp_uri):
    with rpc_proxy(amqp_uri) as rpc:
        yield rpc.tickets
