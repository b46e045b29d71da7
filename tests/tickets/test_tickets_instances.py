"""Several tickets-service processes at once, and a RabbitMQ outage: numbering and events hold."""
import subprocess

import eventlet
import pytest
import sqlalchemy as sa

from services.tickets import operations
from services.tickets.models import Ticket
from shared.testing import EventCollector, ServiceProcess, rpc_proxy, wait_for

pytestmark = pytest.mark.slow

NEW = {"title": "Disk full", "description": "again", "client_id": "acme", "customer_email": "c@acme.io"}
INVALID = {"title": "", "description": "no title", "client_id": "acme"}


def tickets_processes(count, amqp_uri, db_url):
    return [ServiceProcess("tickets", {"TICKETS_DATABASE_URL": db_url}, amqp_uri) for _ in range(count)]


def rabbitmqctl(*args):
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=120).stdout


def rpc_consumers(amqp_uri, queue="rpc-tickets"):
    """Consumers on a queue right now (the management API's figures lag by seconds)."""
    listing = rabbitmqctl("list_queues", "-p", amqp_uri.rsplit("/", 1)[1], "name", "consumers", "--no-table-headers")
    return dict(line.split("\t") for line in listing.splitlines()).get(queue)


def test_two_instances_number_500_concurrent_creates_without_gap_or_duplicate(amqp_uri, tickets_db, tickets_engine):
    instances = tickets_processes(2, amqp_uri, tickets_db)
    collector = EventCollector(amqp_uri, "tickets", routing_key="ticket.created").connect()
    try:
        for instance in instances:
            instance.start()
        # `ping` is answered by either instance: count the consumers to know both are up.
        wait_for(lambda: rpc_consumers(amqp_uri) == "2", timeout=30, interval=0.3, message="two consumers")

        jobs = [NEW] * 500
        jobs[::7] = [INVALID] * len(jobs[::7])  # invalid creates interleaved: they must take no number
        jobs += [INVALID] * len(jobs[::7])
        queue = eventlet.queue.Queue()
        for job in jobs:
            queue.put(job)
        outcomes = {"created": 0, "rejected": 0}

        def caller():
            with rpc_proxy(amqp_uri, timeout=30) as rpc:
                while not queue.empty():
                    job = queue.get()
                    try:
                        rpc.tickets.create_ticket(job)
                        outcomes["created"] += 1
                    except Exception as exc:  # only validation errors are expected
                        assert type(exc).__name__ == "ValidationError", exc
                        outcomes["rejected"] += 1

        pool = eventlet.GreenPool(16)
        for _ in range(16):
            pool.spawn(caller)
        pool.waitall()
        valid_jobs = sum(job is NEW for job in jobs)
        assert outcomes["created"] == valid_jobs

        with tickets_engine.connect() as conn:
            numbers = conn.execute(sa.select(Ticket.number, Ticket.ticket_number).order_by(Ticket.created_at)).all()
        assert [n for n, _ in numbers] == list(range(1, valid_jobs + 1))  # no gap, no duplicate, creation order
        assert numbers[-1][1] == f"TKT-{valid_jobs:05d}"

        collector.wait_for(lambda got: len(got) >= valid_jobs, timeout=30, message="created events")
        event_ids = [event["event_id"] for event in collector.events]
        assert len(set(event_ids)) == len(event_ids) == valid_jobs  # no row published twice
        assert {e["data"]["ticket"]["ticket_number"] for e in collector.events} == {t for _, t in numbers}
    finally:
        collector.disconnect()
        for instance in instances:
            instance.stop()


def test_events_committed_during_a_rabbitmq_outage_arrive_after_it(amqp_uri, tickets_db, session_factory):
    collector = EventCollector(amqp_uri, "tickets", routing_key="ticket.created", durable=True)
    collector.connect().disconnect()  # the durable queue now holds whatever is published
    with ServiceProcess("tickets", {"TICKETS_DATABASE_URL": tickets_db}, amqp_uri) as service:
        with rpc_proxy(amqp_uri) as rpc:
            for _ in range(10):
                rpc.tickets.create_ticket(NEW)
        rabbitmqctl("stop_app")
        try:
            # Committed while the broker is away: exactly a create whose publish cannot happen.
            with session_factory() as session:
                for _ in range(20):
                    operations.create_ticket(session, NEW)
                    session.commit()
        finally:
            rabbitmqctl("start_app")
            rabbitmqctl("await_startup")
        try:
            collector.connect()
            collector.wait_for(lambda got: len(got) >= 30, timeout=60, message="all 30 created events")
            numbers = sorted(e["data"]["ticket"]["ticket_number"] for e in collector.events)
            assert numbers == [f"TKT-{n:05d}" for n in range(1, 31)]
            assert len({e["event_id"] for e in collector.events}) == 30
            assert service.process.poll() is None, service.output()
        finally:
            collector.disconnect()
            collector.delete_queue()
