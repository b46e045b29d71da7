"""Graceful stop: SIGTERM to a nameko service or to gunicorn lets the request in flight finish.

The request is made slow from the outside, without touching the services: the test locks the ticket's
row in the tickets database, so `update_ticket` (which takes that row FOR UPDATE) waits. SIGTERM is sent
while it waits; the process must stop taking new work yet stay up; the lock is released; the call must
succeed, and the process must then exit by itself, cleanly.
"""
import os
import signal
import subprocess
import time

import eventlet
import pytest
import requests
import sqlalchemy as sa

from services.tracker_gateway import gunicorn_conf
from shared.testing import ROOT, EventCollector, ServiceProcess, http_ok, rpc_proxy, wait_for
from tests.deploy.conftest import VENV_BIN, free_port
from tests.deploy.test_deploy_scaled import queue_consumers
from tests.fixtures.gateway import TEST_REDIS_URL

pytestmark = pytest.mark.slow

NEW = {"title": "Slow update", "description": "d", "client_id": "acme", "customer_email": "c@acme.io"}


class RowLock:
    """Holds `SELECT ... FOR UPDATE` on one ticket until released."""

    def __init__(self, engine, ticket_id):
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(sa.text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id})

    def release(self):
        self.transaction.rollback()
        self.connection.close()


def lock_waiters(engine):
    """Backends of this database waiting for a lock right now (the update stuck behind ours)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )).scalar()


def test_sigterm_lets_an_rpc_in_flight_finish(amqp_uri, tickets_db, tickets_engine):
    service = ServiceProcess("tickets", {"TICKETS_DATABASE_URL": tickets_db}, amqp_uri).start()
    collector = EventCollector(amqp_uri, "tickets", routing_key="ticket.updated").connect()
    lock = None
    try:
        with rpc_proxy(amqp_uri, timeout=60) as rpc:
            ticket = rpc.tickets.create_ticket(NEW)
            lock = RowLock(tickets_engine, ticket["id"])
            reply = rpc.tickets.update_ticket.call_async(ticket["ticket_number"], {"status": "in_progress"}, "ann")
            wait_for(lambda: lock_waiters(tickets_engine) >= 1, timeout=15, message="the update to wait on the lock")

            service.process.send_signal(signal.SIGTERM)
            # Stopping: it no longer consumes its RPC queue, but it is still running its worker.
            wait_for(lambda: queue_consumers(amqp_uri).get("rpc-tickets") == 0, timeout=20, interval=0.3,
                     message="the RPC consumer to be cancelled")
            assert service.process.poll() is None, service.output()

            lock.release()
            lock = None
            updated = reply.result()
        assert updated["status"] == "in_progress" and updated["changes"]["status"] == {"from": "open", "to": "in_progress"}
        assert service.process.wait(20) == 0, service.output()
        # The event left too: the worker's publish after its commit was part of what was let finish.
        collector.wait_for(lambda got: len(got) == 1, timeout=10, message="ticket.updated")
        assert collector.events[0]["data"]["ticket"]["ticket_number"] == ticket["ticket_number"]
        assert "Traceback" not in service.output()
    finally:
        if lock is not None:
            lock.release()
        collector.disconnect()
        service.stop()


def test_sigterm_lets_gunicorn_finish_a_request_in_flight(tmp_path, amqp_uri, tickets_service, tickets_engine,
                                                          gateway_db, redis_prefix, tenants, token_for):
    port = free_port()
    log = open(tmp_path / "gateway.log", "wb")
    # As the image starts it (deploy/start.sh gateway), one worker so that its graceful stop is the one tested.
    gateway = subprocess.Popen(
        [str(ROOT / "deploy" / "start.sh"), "gateway"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
             "GATEWAY_PORT": str(port), "GATEWAY_DATABASE_URL": gateway_db, "AMQP_URI": amqp_uri,
             "REDIS_URL": TEST_REDIS_URL, "GATEWAY_REDIS_PREFIX": redis_prefix, "GATEWAY_WORKERS": "1",
             "GATEWAY_THREADS": "4", "RPC_TIMEOUT": "30", "GATEWAY_READY_SERVICES": "tickets"},
    )
    base = f"http://127.0.0.1:{port}"
    lock = None
    try:
        wait_for(lambda: http_ok(f"{base}/readyz", gateway, tmp_path / "gateway.log"), timeout=30, interval=0.2,
                 message="gunicorn to be ready")
        headers = {"Authorization": f"Bearer {token_for(tenants[0])}"}
        ticket = requests.post(f"{base}/api/entities/ticket", headers=headers, timeout=10,
                               json={"title": "Slow over HTTP", "description": "d"}).json()

        lock = RowLock(tickets_engine, ticket["id"])
        in_flight = eventlet.spawn(requests.patch, f"{base}/api/entities/ticket/{ticket['ticket_number']}",
                                   headers=headers, json={"status": "pending"}, timeout=60)
        wait_for(lambda: lock_waiters(tickets_engine) >= 1, timeout=15, message="the update to wait on the lock")

        gateway.send_signal(signal.SIGTERM)
        # (Its workers stop accepting, but keep the listening socket until they exit: the kernel still
        # completes handshakes meanwhile, so "refused" is not observable before the exit.)
        wait_for(lambda: "Handling signal: term" in (tmp_path / "gateway.log").read_text(), timeout=10,
                 message="gunicorn to take the signal")
        assert gateway.poll() is None

        lock.release()
        lock = None
        released = time.monotonic()
        response = in_flight.wait()
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "pending"
        assert gateway.wait(25) == 0
        # It left as soon as the request was done, not at the end of graceful_timeout.
        assert time.monotonic() - released < gunicorn_conf.graceful_timeout
        assert "Traceback" not in (tmp_path / "gateway.log").read_text()
    finally:
        if lock is not None:
            lock.release()
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        log.close()
