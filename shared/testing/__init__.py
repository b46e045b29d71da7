"""Test helpers for any service: waiting on conditions, service processes, event collection,
throwaway databases. Used by tests and benchmarks only."""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from kombu import Connection, Consumer, Queue
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.engine import make_url

from shared.contracts.tracking_links import DEV_SECRET, TrackingLinks

ROOT = Path(__file__).resolve().parents[2]
# The links every service signs and checks in tests (they run with the development secret).
TRACKING_LINKS = TrackingLinks(DEV_SECRET)


def wait_for(condition, timeout=10.0, interval=0.05, message="condition"):
    """Poll `condition()` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_ok(url, process=None, log_path=None):
    """Whether `url` answers 200 now (for wait_for); fails at once, with its log, if `process` died."""
    import requests

    if process is not None:
        assert process.poll() is None, log_path.read_text() if log_path else f"{process.args} exited"
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_database_url(name):
    """The test database for a service's `name`; DESKLINE_TEST_SUFFIX keeps parallel runs apart."""
    suffix = os.environ.get("DESKLINE_TEST_SUFFIX", "")
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}_test{suffix}"


def fresh_database(url, migrations_dir):
    """Drop and recreate the database at `url`, then migrate it to head."""
    from shared.platform.migrations import upgrade

    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()
    upgrade(migrations_dir, url)


def allow_connections(url, allowed):
    """Open or close the database at `url` to new connections; closing also cuts the open ones."""
    target = make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{target.database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ), {"name": target.database})
    admin.dispose()


@contextmanager
def database_away(url):
    """The database is unreachable inside the block (an outage, as a service sees it), back after."""
    allow_connections(url, False)
    try:
        yield
    finally:
        allow_connections(url, True)


def dead_letters(amqp_uri):
    """Take every message from the dead-letter queue: [{service, error, payload}]."""
    from shared.platform.consumers import DEAD_LETTER_QUEUE

    with Connection(amqp_uri) as connection:
        from shared.platform.queues import typed

        arguments = typed(Queue(DEAD_LETTER_QUEUE, durable=True)).queue_arguments
        queue = connection.SimpleQueue(DEAD_LETTER_QUEUE, queue_opts={"durable": True}, queue_args=arguments)
        taken = []
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                return taken
            taken.append(message.payload)
            message.ack()


def empty_tables(engine, metadata, keep=()):
    """Remove every row of a service's tables (but those in `keep`) between tests, ids restarting."""
    tables = ", ".join(table.name for table in metadata.sorted_tables if table.name not in keep)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def rpc_proxy(amqp_uri, timeout=10):
    return ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=timeout)


def wait_until_answers(amqp_uri, service, timeout=30):
    """Wait until `service` answers `ping` over RPC."""
    def answers():
        try:
            with rpc_proxy(amqp_uri, timeout=1) as rpc:
                return getattr(rpc, service).ping() == "pong"
        except Exception:
            return False

    wait_for(answers, timeout=timeout, interval=0.2, message=f"{service} to answer ping")


class ServiceProcess:
    """One instance of a service in its own OS process (`python -m services.<name> <command>`); it is up
    when `answers_as` (default: its name) answers ping (the webhooks process: notifier, webhooks, webhooks)."""

    def __init__(self, name, env, amqp_uri, log_path=None, command="run", answers_as=None):
        self.name, self.amqp_uri, self.command, self.answers_as = name, amqp_uri, command, answers_as or name
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "AMQP_URI": amqp_uri, **env}
        self.log_path = log_path or Path(f"/tmp/deskline-{name}-{uuid.uuid4().hex[:8]}.log")
        self.process = None

    def start(self, wait=True):
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}", self.command],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        if wait:
            wait_until_answers(self.amqp_uri, self.answers_as)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self):
        return self.log_path.read_text(errors="replace")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class EventCollector:
    """Collects the events a service publishes, from a queue of its own bound to the exchange.

    `durable=True` keeps the queue (and what it holds) across a broker restart.
    """

    def __init__(self, amqp_uri, service, routing_key="#", durable=False):
        self.amqp_uri = amqp_uri
        self.queue = Queue(
            f"test-events-{uuid.uuid4().hex}", exchange=get_event_exchange(service, {}),
            routing_key=routing_key, durable=durable, auto_delete=not durable,
        )
        self.events = []
        self.connection = None

    def connect(self):
        self.connection = Connection(self.amqp_uri)
        self.channel = self.connection.channel()
        # Declares the exchange, the queue and the binding.
        self.consumer = Consumer(self.channel, [self.queue], callbacks=[self._receive], accept=["json"])
        self.consumer.consume()
        return self

    def _receive(self, body, message):
        self.events.append(body)
        message.ack()

    def disconnect(self):
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:
                pass
            self.connection = None

    def wait_for(self, predicate, timeout=10.0, message="events"):
        """Consume until `predicate(events)` holds; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {message}; got {len(self.events)}")
            try:
                self.connection.drain_events(timeout=min(remaining, 0.5))
            except socket.timeout:
                pass
        return self.events

    def of_type(self, event_type):
        return [event for event in self.events if event["event_type"] == event_type]

    def delete_queue(self):
        with Connection(self.amqp_uri) as connection:
            self.queue(connection.channel()).delete()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.disconnect()
