"""PostgreSQL and Redis going away for a while: RPC handlers fail fast with a typed Unavailable (the
gateway's 503) and leave nothing half-written; the notifier records an email it sent once the database
is back instead of sending it again; the services, the gateway's rate limits and the tracker's read
model recover on their own."""
import asyncio
import itertools
import subprocess
import time
from contextlib import contextmanager
from dataclasses import asdict

import pytest
import redis
import sqlalchemy as sa

from services.notifier.config import Settings
from services.notifier.models import Delivery
from services.notifier.service import NotifierService
from services.tickets.models import OutboxEvent, Ticket
from services.tracker_gateway.projector.read_model import TrackerView
from shared.contracts.exceptions import Unavailable
from shared.testing import allow_connections, database_away, free_port, wait_for
from tests.faults.test_faults_broker import NEW
from tests.fixtures.notifier import FAST_RETRIES, SmtpSink, ticket_envelope, ticket_payload

API = "/api/entities/ticket"
TRACK = "/api/public/track"


@pytest.fixture
def tickets_database_away(tickets_db, tickets_engine):
    """`with tickets_database_away():` the tickets database refuses connections and cuts the open ones."""
    @contextmanager
    def away():
        try:
            with database_away(tickets_db):
                yield
        finally:
            tickets_engine.dispose()  # the test's own pooled connections were cut too
    return away


def test_creates_fail_fast_while_the_database_is_away_and_nothing_is_half_written(tickets_rpc, tickets_database_away,
                                                                                  tickets_engine):
    tickets_rpc.create_ticket(NEW, idempotency_key="before")
    with tickets_database_away():
        started = time.monotonic()
        with pytest.raises(Unavailable):
            tickets_rpc.create_ticket(NEW, idempotency_key="during")
        assert time.monotonic() - started < 3
    # Back without a restart: the key that failed creates its ticket now, numbered next.
    assert tickets_rpc.create_ticket(NEW, idempotency_key="during")["ticket_number"] == "TKT-00002"
    with tickets_engine.connect() as conn:
        assert conn.execute(sa.select(Ticket.number)).scalars().all() == [1, 2]
        assert conn.execute(sa.select(sa.func.count()).select_from(OutboxEvent)).scalar() == 2


def test_the_gateway_answers_503_while_the_tickets_database_is_away(http, tenants, auth_headers, tickets_service,
                                                                    tickets_database_away):
    acme = auth_headers(tenants[0])
    body = {"title": "t", "description": "d", "customer_email": "c@acme.io"}
    with tickets_database_away():
        response = http.post(API, json=body, headers={**acme, "Idempotency-Key": "k1"})
        assert response.status_code == 503 and response.headers["Retry-After"]
    assert http.post(API, json=body, headers={**acme, "Idempotency-Key": "k1"}).status_code == 201


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, so that restarting it touches nobody else's keys."""
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path)]
    server = {"process": None}

    def start():
        server["process"] = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), timeout=10, message="redis-server to start")

    def stop():
        server["process"].terminate()
        server["process"].wait(10)

    start()
    yield type("OwnRedis", (), {"url": f"redis://127.0.0.1:{port}/0", "start": staticmethod(start),
                                "stop": staticmethod(stop)})
    stop()


def _pings(client):
    try:
        return client.ping()
    except redis.RedisError:
        return False


@pytest.fixture
def gateway_on_own_redis(gateway_settings, own_redis):
    gateway_settings.update(REDIS_URL=own_redis.url, TRACKER_FAILURES_PER_IP=3, TRACKER_IP_WINDOW_SECONDS=30,
                            TRUSTED_PROXIES=1)


def test_a_redis_restart_empties_the_read_model_and_the_projector_refills_it(
        gateway_on_own_redis, own_redis, gateway_settings, http, tenants, auth_headers, tickets_service,
        tracker_projector):
    acme = auth_headers(tenants[0])
    numbers = [http.post(API, json={"title": f"t{n}", "description": "d", "customer_email": "kira@example.com"},
                         headers=acme).get_json()["ticket_number"] for n in range(3)]

    polls = itertools.count()

    def all_tracked():
        # Each poll from an address of its own: misses while the model is empty count against the limit.
        ip = {"X-Forwarded-For": f"198.51.100.{next(polls) % 250}"}
        return all(http.get(TRACK, query_string={"ticket": number, "email": "kira@example.com"},
                            headers=ip).status_code == 200 for number in numbers)
    wait_for(all_tracked, timeout=10, message="the tickets in the tracker")

    own_redis.stop()
    down = http.get(TRACK, query_string={"ticket": numbers[0], "email": "kira@example.com"})
    assert down.status_code == 503
    own_redis.start()  # empty: no persistence, as deployed
    view = TrackerView(redis.Redis.from_url(own_redis.url), gateway_settings["REDIS_PREFIX"], "unused")
    assert not view.backfilled()
    started = time.monotonic()
    wait_for(all_tracked, timeout=15, message="the projector to refill the read model")
    print(f"redis restart: read model refilled {time.monotonic() - started:.1f}s after Redis returned")
    assert not tracker_projector._died.ready()

    # Rate limits count again: three failed lookups from one address, then 429.
    ip = {"X-Forwarded-For": "203.0.113.7"}
    for junk in ("TKT-09991", "TKT-09992", "TKT-09993"):
        assert http.get(TRACK, query_string={"ticket": junk, "email": "x@example.com"}, headers=ip).status_code == 404
    limited = http.get(TRACK, query_string={"ticket": numbers[0], "email": "kira@example.com"}, headers=ip)
    assert limited.status_code == 429


class SinkThatTakesTheDatabaseAway(SmtpSink):
    """Accepts the first email only once the notifier's database is closed (by `take_the_database_away`):
    the sender cannot record the 250 it gets."""

    data_seen = database_closed = False

    async def handle_DATA(self, server, session, envelope):
        self.data_seen = True
        while not self.database_closed:
            await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)

    def take_the_database_away(self, url, seconds):
        wait_for(lambda: self.data_seen, timeout=10, message="the email to arrive")
        allow_connections(url, False)
        self.database_closed = True
        time.sleep(seconds)
        allow_connections(url, True)


def test_a_sent_email_is_recorded_after_a_database_outage_not_sent_again(
        container_factory, amqp_uri, notifier_db, notifier_engine, publish_ticket_event):
    sink = SinkThatTakesTheDatabaseAway().start()  # instead of smtp_sink: one aiosmtpd loop per process
    settings = asdict(Settings(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=sink.port, **FAST_RETRIES))
    try:
        container = container_factory(NotifierService, {
            "AMQP_URI": amqp_uri, "DB_URIS": {"notifier:Base": notifier_db}, "NOTIFIER": settings})
        container.start()
        publish_ticket_event(ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00042")))
        sink.take_the_database_away(notifier_db, seconds=1.5)

        def sent():
            notifier_engine.dispose()  # its connections were cut with the database
            with notifier_engine.connect() as conn:
                return conn.execute(sa.select(Delivery.status, Delivery.attempts)).all() == [("sent", 1)]
        wait_for(sent, timeout=15, interval=0.3, message="the delivery recorded as sent")
        # Past the lease the retry timer would have sent it again had it stayed 'sending'.
        time.sleep(settings["in_flight_lease_seconds"] + 1)
        assert len(sink.received) == 1 and not container._died.ready()
    finally:
        sink.stop()
        allow_connections(notifier_db, True)
        notifier_engine.dispose()
