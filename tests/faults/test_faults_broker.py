"""A broker outage, as a service sees it (its connections drop, new ones are refused), made with a
proxy that only this test's services go through: nothing exits, a reply that cannot be sent is
dropped and logged, consumers reconnect, the outbox waits and drains, timers keep ticking."""
import logging
import threading
import time

import eventlet
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import rpc
from nameko.timer import timer

from services.tickets.models import OutboxEvent, Ticket
from services.tickets.service import TicketsService
from shared.platform.outbox import unpublished_count
from shared.testing import EventCollector, rpc_proxy, wait_for

NEW = {"title": "VPN drops", "description": "Every hour", "client_id": "acme", "customer_email": "c@acme.io"}
RECOVERY_SECONDS = 10  # the bound: creating again within 10 s of the broker's return

entered, gate = threading.Event(), threading.Event()


class SlowService:
    name = "slow"

    @rpc
    def wait_then_answer(self):
        entered.set()
        gate.wait(10)
        return "done"

    @rpc
    def ping(self):
        return "pong"


def answers(amqp_uri, service):
    try:
        with rpc_proxy(amqp_uri, timeout=1) as proxy:
            return getattr(proxy, service).ping() == "pong"
    except Exception:
        return False


def test_a_reply_that_cannot_be_published_is_dropped_and_logged(container_factory, amqp_uri, proxied_amqp_uri,
                                                                broker_proxy, caplog):
    entered.clear(), gate.clear()
    container = container_factory(SlowService, {"AMQP_URI": proxied_amqp_uri})
    container.start()
    with rpc_proxy(amqp_uri, timeout=30) as proxy:  # the caller reaches the broker directly
        proxy.slow.wait_then_answer.call_async()
        wait_for(entered.is_set, message="the worker to start")
        broker_proxy.cut()
        with caplog.at_level(logging.WARNING, logger="deskline.resilience"):
            gate.set()
            wait_for(lambda: "dropped" in caplog.text, timeout=10, message="the dropped reply to be logged")
    assert "reply to" in caplog.text and not container._died.ready()
    broker_proxy.restore()
    wait_for(lambda: answers(amqp_uri, "slow"), timeout=RECOVERY_SECONDS, message="the service to answer again")
    assert not container._died.ready()


def test_tickets_ride_out_a_broker_outage_under_load(container_factory, amqp_uri, proxied_amqp_uri, broker_proxy,
                                                     tickets_db, tickets_engine):
    container = container_factory(TicketsService, {"AMQP_URI": proxied_amqp_uri, "DB_URIS": {"tickets:Base": tickets_db}})
    container.start()
    total, outcomes = 60, []

    def create(n):
        # A client retrying under one idempotency key, as the gateway's clients do.
        while True:
            try:
                with rpc_proxy(amqp_uri, timeout=2) as proxy:
                    outcomes.append(proxy.tickets.create_ticket(NEW, idempotency_key=f"k{n}")["ticket_number"])
                    return
            except Exception:
                eventlet.sleep(0.2)

    with EventCollector(amqp_uri, "tickets") as events:
        pool = eventlet.GreenPool(6)
        for n in range(total):
            pool.spawn_n(create, n)
            if n == total // 3:
                wait_for(lambda: len(outcomes) >= 10, timeout=20, message="load before the outage")
                broker_proxy.cut()
                eventlet.sleep(3)
                assert not container._died.ready()
                broker_proxy.restore()
                back = time.monotonic()
        pool.waitall()
        assert not container._died.ready()
        with tickets_engine.connect() as conn:
            numbers = sorted(conn.execute(sa.select(Ticket.number)).scalars())
        assert numbers == list(range(1, total + 1))  # one ticket per key, no gap
        # The outbox waited in the table and drained; every ticket's event went out.
        with sa.orm.Session(tickets_engine) as session:
            wait_for(lambda: unpublished_count(session, OutboxEvent) == 0 or session.rollback(), timeout=RECOVERY_SECONDS,
                     message="the outbox backlog to drain")
        events.wait_for(lambda got: len({e["data"]["ticket"]["ticket_number"] for e in got}) == total, timeout=10)
    print(f"broker outage: {total} tickets, back {time.monotonic() - back:.1f}s after the broker returned")


class FlakyDependency(DependencyProvider):
    """Fails a worker before its handler runs, as a dependency reaching a lost connection would."""

    failures = 2

    def worker_setup(self, worker_ctx):
        if FlakyDependency.failures:
            FlakyDependency.failures -= 1
            raise ConnectionResetError("connection lost")


ticks = []


class Ticking:
    name = "ticking"
    flaky = FlakyDependency()

    @timer(interval=0.05)
    def tick(self):
        ticks.append(time.monotonic())


def test_a_timer_keeps_ticking_when_a_worker_dies_of_a_lost_connection(container_factory, amqp_uri):
    FlakyDependency.failures, ticks[:] = 2, []
    container = container_factory(Ticking, {"AMQP_URI": amqp_uri})
    container.start()
    wait_for(lambda: len(ticks) >= 5, timeout=5, message="ticks after two failed workers")
    assert FlakyDependency.failures == 0 and not container._died.ready()


def test_a_service_started_while_the_broker_is_away_comes_up_when_it_returns(container_factory, amqp_uri,
                                                                             proxied_amqp_uri, broker_proxy, tickets_db):
    broker_proxy.cut()
    container = container_factory(TicketsService, {"AMQP_URI": proxied_amqp_uri, "DB_URIS": {"tickets:Base": tickets_db}})
    starting = eventlet.spawn(container.start)
    eventlet.sleep(2)
    assert not starting.dead  # waiting for the broker, not failed
    broker_proxy.restore()
    starting.wait()
    wait_for(lambda: answers(amqp_uri, "tickets"), timeout=RECOVERY_SECONDS, message="tickets to answer")


def test_a_consumer_that_fails_unexpectedly_after_start_consumes_again(container_factory, amqp_uri, caplog):
    container = container_factory(SlowService, {"AMQP_URI": amqp_uri})
    container.start()
    consumer = next(ext for ext in container.extensions if isinstance(ext, QueueConsumer))
    on_iteration = consumer.on_iteration
    failures = []

    def fail_once():
        if not failures:
            failures.append(True)
            raise RuntimeError("a surprise in the consume loop")
        on_iteration()

    consumer.on_iteration = fail_once  # the consume loop calls it on every iteration
    wait_for(lambda: failures, timeout=5, message="the surprise")
    wait_for(lambda: answers(amqp_uri, "slow"), timeout=RECOVERY_SECONDS, message="the service to answer again")
    assert "connecting again" in caplog.text and not container._died.ready()
