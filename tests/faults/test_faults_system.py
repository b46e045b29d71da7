"""The whole system under faults, as users run it: the Procfile's processes (two tickets, two notifiers,
chat, the projector, the gateway over HTTP), SMTP to a server of the test's own that refuses 30% of
deliveries with 451, and 1,000 creates by 8 HTTP clients that retry 5xx and timeouts under one
Idempotency-Key per ticket. Meanwhile: a notifier SIGKILLed twice, the broker stopped for 5 s
(`rabbitmqctl stop_app`/`start_app`), a tickets instance SIGKILLed, PostgreSQL restarted. The test
restarts what it kills, as a supervisor would, and counts every other exit: there must be none.

This restarts the real RabbitMQ and PostgreSQL that everyone on the machine shares: both are always
brought back (finally), and other test runs see a few seconds of outage.
"""
import collections
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import eventlet
import pytest
import requests
import sqlalchemy as sa

from services.notifier.models import Delivery
from services.tickets.models import OutboxEvent, Ticket
from shared.platform.outbox import unpublished_count
from shared.testing import http_ok, wait_for, wait_until_answers
from tests.deploy.conftest import Proc, free_port
from tests.deploy.test_deploy_scaled import procfile, queue_consumers
from tests.fixtures.gateway import TEST_REDIS_URL
from tests.fixtures.notifier import SmtpSink, notifier_process_env

pytestmark = pytest.mark.slow

TOTAL = 1000
CLIENTS = 8
REFUSED_SHARE = 0.3
CREATE_DEADLINE = 180  # seconds one create may take, retries included, before the test fails
RECOVERY_BOUND = 10  # the issue: creating again within 10 s of the broker's return
# Faults by how many tickets exist: spread over the run, each after the previous one has passed.
SCHEDULE = ((100, "kill notifier"), (220, "restart broker"), (420, "kill tickets"), (560, "kill notifier"),
            (700, "restart postgresql"))
BROKER_AWAY_SECONDS = 5
# A duplicate email is one the server accepted before a notifier was killed, whose outcome that notifier
# had not yet recorded: it sends again after the lease (docs/notifier.md). Every send in flight at the
# kill may be one (the notifier sends several at once), so each duplicate is checked to be such a send.
KILL_WINDOW = 5.0


class RefusingSmtp(SmtpSink):
    """The test's mail server: refuses about 30% of deliveries with a 451 (try again later)."""

    def __init__(self):
        super().__init__()
        self.random, self.refused = random.Random(12), 0

    async def handle_DATA(self, server, session, envelope):
        if self.random.random() < REFUSED_SHARE:
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


class Supervisor:
    """Starts the processes, restarts those the test kills, and counts (and restarts) any other exit."""

    def __init__(self, commands, env, log_dir):
        self.commands, self.env, self.log_dir = commands, env, log_dir
        self.procs, self.planned, self.unplanned = {}, set(), []
        self.kill_times = collections.defaultdict(list)  # wall-clock, as the SMTP server stamps what it accepts
        self._stop = threading.Event()

    def start(self, name, kind):
        self.procs[name] = Proc(self.commands[kind], self.env, self.log_dir / f"{name}.log").start()

    def kill_and_restart(self, name):
        self.planned.add(name)
        proc = self.procs[name]
        self.kill_times[name].append(time.time())
        proc.signal(signal.SIGKILL)
        proc.process.wait()
        proc.log.close()
        proc.start()
        self.planned.discard(name)

    def watch(self):
        while not self._stop.wait(0.2):
            for name, proc in list(self.procs.items()):
                if name not in self.planned and not proc.alive():
                    self.unplanned.append((name, proc.process.returncode, proc.output()[-3000:]))
                    proc.log.close()
                    proc.start()

    def stop(self):
        self._stop.set()
        for proc in self.procs.values():
            proc.stop()


def rabbitmqctl(command):
    subprocess.run(["rabbitmqctl", "-q", command], check=True, capture_output=True, timeout=120)


def pg_ctlcluster(command):
    version = max(path.name for path in Path("/etc/postgresql").iterdir())
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", command], check=True,
                   capture_output=True, timeout=120)


def test_1000_creates_ride_out_a_broker_restart_a_postgresql_restart_and_kills(
        tmp_path, amqp_uri, tickets_db, tickets_engine, notifier_db, notifier_engine, chat_db, chat_engine,
        gateway_db, gateway_engine, redis_prefix, tenants, token_for):
    started_at = time.monotonic()
    smtp = RefusingSmtp().start()
    port = free_port()
    env = {
        **notifier_process_env(notifier_db, smtp),
        # 30% refusals: enough attempts that no delivery runs out of them (0.3 ** 12).
        "NOTIFIER_MAX_ATTEMPTS": "12",
        # A lease long enough that a send whose outcome cannot be recorded during the PostgreSQL restart is
        # recorded after it (docs/notifier.md), not sent again.
        "NOTIFIER_IN_FLIGHT_LEASE_SECONDS": "20",
        "AMQP_URI": amqp_uri, "TICKETS_DATABASE_URL": tickets_db, "CHAT_DATABASE_URL": chat_db,
        "CONSUMER_REQUEUE_DELAY": "0.2", "GATEWAY_DATABASE_URL": gateway_db, "REDIS_URL": TEST_REDIS_URL,
        "GATEWAY_REDIS_PREFIX": redis_prefix, "GATEWAY_PORT": str(port), "GATEWAY_WORKERS": "2",
        "GATEWAY_THREADS": "4", "GATEWAY_READY_SERVICES": "tickets,tracker_projector,notifier,chat",
        "RPC_TIMEOUT": "5", "GATEWAY_TRUSTED_PROXIES": "1", "TRACKER_FAILURES_PER_IP": "100000",
    }
    supervisor = Supervisor(procfile(), env, tmp_path)
    for name, kind in (("tickets-a", "tickets"), ("tickets-b", "tickets"), ("notifier-a", "notifier"),
                       ("notifier-b", "notifier"), ("chat", "chat"), ("tracker_projector", "tracker_projector"),
                       ("gateway", "gateway")):
        supervisor.start(name, kind)
    try:
        for service in ("tickets", "notifier", "chat", "tracker_projector"):
            wait_until_answers(amqp_uri, service, timeout=60)
        wait_for(lambda: [queue_consumers(amqp_uri).get(f"rpc-{name}") for name in ("tickets", "notifier")] == [2, 2],
                 timeout=60, interval=0.5, message="two instances of tickets and the notifier")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(f"{base}/readyz"), timeout=60, interval=0.2, message="the gateway to be ready")
        threading.Thread(target=supervisor.watch, daemon=True).start()
        run_load_under_faults(base, token_for(tenants[0]), supervisor, smtp, tickets_db, notifier_db,
                              started_at)
    finally:
        supervisor.stop()
        smtp.stop()
        # PostgreSQL restarted under them: the session's engines hold dead connections.
        for engine in (tickets_engine, notifier_engine, chat_engine, gateway_engine):
            engine.dispose()


def run_load_under_faults(base, token, supervisor, smtp, tickets_db, notifier_db, started_at):
    """The 1,000 creates with the faults of SCHEDULE among them, then every assertion and the figures."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    created, successes, attempts = {}, [], collections.Counter()
    statuses = collections.Counter()

    def create(n):
        body = {"title": f"Fault {n}", "description": "load", "customer_email": f"customer{n}@example.com"}
        deadline = time.monotonic() + CREATE_DEADLINE
        while time.monotonic() < deadline:
            attempts[n] += 1
            try:
                response = requests.post(f"{base}/api/entities/ticket", json=body, timeout=15,
                                         headers={**headers, "Idempotency-Key": f"fault-{n}"})
                statuses[response.status_code] += 1
                if response.status_code == 201:
                    created[n] = response.json()["ticket_number"]
                    successes.append(time.monotonic())
                    return
                assert response.status_code in (502, 503, 504), response.text
            except requests.RequestException as exc:
                statuses[type(exc).__name__] += 1
            eventlet.sleep(0.3)
        pytest.fail(f"create {n} did not succeed within {CREATE_DEADLINE} s")

    recoveries, kills = {}, collections.Counter()

    def recovered_after(label, lifted):
        # The first create that succeeded after the fault was lifted.
        wait_for(lambda: any(t > lifted for t in successes), timeout=120, interval=0.05, message=f"creates after {label}")
        recoveries[label] = min(t for t in successes if t > lifted) - lifted

    def faults():
        for threshold, fault in SCHEDULE:
            wait_for(lambda threshold=threshold: len(created) >= threshold, timeout=240, interval=0.1, message=f"{threshold} tickets")
            label = f"{fault} at {len(created)}"
            fault_started = time.monotonic()
            if fault == "kill notifier":
                supervisor.kill_and_restart("notifier-a")
                kills["notifier"] += 1
                sent_before = len(smtp.received)
                lifted = time.monotonic()
                wait_for(lambda sent_before=sent_before: len(smtp.received) > sent_before, timeout=60, message="emails after the kill")
                recoveries[label] = time.monotonic() - lifted
                continue
            if fault == "kill tickets":
                supervisor.kill_and_restart("tickets-a")
                kills["tickets"] += 1
                recovered_after(label, fault_started)  # the other instance takes over: from the kill
                continue
            if fault == "restart broker":
                rabbitmqctl("stop_app")
                try:
                    eventlet.sleep(BROKER_AWAY_SECONDS)
                finally:
                    rabbitmqctl("start_app")
            elif fault == "restart postgresql":
                try:
                    pg_ctlcluster("restart")
                except subprocess.CalledProcessError:
                    pg_ctlcluster("start")
            # From its return (start_app, restart), and how long the fault took from its start.
            recovered_after(f"{label} (away {time.monotonic() - fault_started:.1f}s)", time.monotonic())

    load_started = time.monotonic()
    work = iter(range(1, TOTAL + 1))

    def client():
        for n in work:
            create(n)

    threads = [eventlet.spawn(faults)] + [eventlet.spawn(client) for _ in range(CLIENTS)]
    for thread in reversed(threads):  # wait() raises what failed in the thread
        thread.wait()
    load_seconds = time.monotonic() - load_started

    # Exactly 1,000 tickets, numbered 1..1000 without a gap, one per idempotency key.
    engine = sa.create_engine(tickets_db, pool_pre_ping=True)
    with engine.connect() as conn:
        numbers = sorted(conn.execute(sa.select(Ticket.number)).scalars())
    assert numbers == list(range(1, TOTAL + 1))
    assert len(set(created.values())) == TOTAL

    # Every event left the outbox; the tracker answers for every ticket.
    with sa.orm.Session(engine) as session:
        wait_for(lambda: unpublished_count(session, OutboxEvent) == 0 or session.rollback(), timeout=30,
                 message="the outbox backlog to drain")
    engine.dispose()

    def tracked(n):
        response = requests.get(f"{base}/api/public/track", timeout=15,
                                params={"ticket": created[n], "email": f"customer{n}@example.com"})
        return response.status_code == 200
    wait_for(lambda: tracked(TOTAL) and tracked(1), timeout=30, message="the projector to catch up")
    answers = list(eventlet.GreenPool(CLIENTS).imap(tracked, range(1, TOTAL + 1)))
    assert all(answers), f"{answers.count(False)} tickets missing from the tracker"

    # Every email sent despite the 451s (the backlog reaches zero), each customer's once; a duplicate only
    # for a notifier killed between the server's acceptance and its own record.
    engine = sa.create_engine(notifier_db, pool_pre_ping=True)

    def all_sent():
        with engine.connect() as conn:
            return dict(conn.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())
    wait_for(lambda: all_sent() == {"sent": TOTAL}, timeout=90, interval=0.5, message="every delivery sent")
    engine.dispose()
    per_customer = collections.defaultdict(list)
    for email in smtp.received:
        per_customer[email.rcpt_tos[0]].append(email)
    assert set(per_customer) == {f"customer{n}@example.com" for n in range(1, TOTAL + 1)}
    duplicates = [emails for emails in per_customer.values() if len(emails) > 1]

    retries = collections.Counter(count - 1 for count in attempts.values())
    print(f"\nfault test: {TOTAL} tickets in {load_seconds:.0f}s with faults; total {time.monotonic() - started_at:.0f}s")
    for label, seconds in recoveries.items():
        print(f"  recovered {seconds:.1f}s after: {label}")
    print(f"  answers: {dict(statuses)}")
    print(f"  retries per ticket: {dict(sorted(retries.items()))} (mean {sum(attempts.values()) / TOTAL - 1:.2f})")
    print(f"  emails: {len(smtp.received)} accepted, {smtp.refused} refused with 451, {len(duplicates)} duplicates "
          f"for {kills['notifier']} notifier kills; unplanned exits: {len(supervisor.unplanned)}")

    logs = "".join(proc.output() for proc in supervisor.procs.values())
    print(f"  logs: {logs.count('reply to')} RPC replies dropped, {logs.count('Connection to broker lost')} consumer "
          f"reconnections, {logs.count('thread exited with error')} containers killed")
    assert "thread exited with error" not in logs

    kills_of_notifier = supervisor.kill_times["notifier-a"]
    for emails in duplicates:
        # The same delivery sent again (one Message-ID), first accepted around the moment a notifier was
        # killed (the server stamps it in its own thread, so possibly a moment after the signal).
        assert len(emails) == 2 and len({email.message["Message-ID"] for email in emails}) == 1
        assert any(-1 < kill - emails[0].received_at < KILL_WINDOW for kill in kills_of_notifier), \
            (emails[0].rcpt_tos, emails[0].received_at, kills_of_notifier)
    # No process exited on its own.
    assert supervisor.unplanned == [], supervisor.unplanned[0]
    assert recoveries[next(label for label in recoveries if label.startswith("restart broker"))] < RECOVERY_BOUND
