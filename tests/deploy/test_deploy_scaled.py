"""Two instances of tickets, notifier, chat and the gateway, started as `make run-scaled` starts them (the
Procfile's commands, gateways sharing one port), under load through that port; then one instance of each
is SIGKILLed mid-load: numbering stays gapless and unique, each ticket gets its email once, each chat
link is made once."""
import re
import shlex
import signal
import subprocess
import time

import eventlet
import pytest
import requests
import sqlalchemy as sa

from services.chat.models import Message, TicketLink
from services.notifier.models import Delivery
from services.tickets.models import Ticket
from shared.testing import ROOT, http_ok, rpc_proxy, wait_for
from tests.deploy.conftest import free_port
from tests.fixtures.gateway import TEST_REDIS_URL
from tests.fixtures.notifier import notifier_process_env

pytestmark = pytest.mark.slow

TOTAL = 150
KILL_AFTER = 50
EVERY_NTH_FROM_CHAT = 5


def procfile():
    """{process type: argv} from deploy/Procfile, which `make run` and `make run-scaled` start."""
    lines = (ROOT / "deploy" / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, command in
            (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))}


def run_scaled_recipe():
    """(environment, {process type: count}) of the Makefile's run-scaled target."""
    makefile = (ROOT / "Makefile").read_text()
    scale = re.search(r"^SCALE \?= (.+)$", makefile, re.M).group(1)
    recipe = re.search(r"^run-scaled:.*\n\t(.+)$", makefile, re.M).group(1)
    assert recipe.endswith("deploy/run.sh") and 'SCALE="$(SCALE)"' in recipe  # supervisord over the Procfile
    environment = {name: value for name, value in re.findall(r'(\w+)="([^"]*)"', recipe) if name != "SCALE"}
    return environment, {name: int(count) for name, count in (item.split("=") for item in scale.split(","))}


def queue_consumers(amqp_uri):
    """Consumers per queue of the vhost right now ({} while rabbitmqctl cannot tell: keep waiting)."""
    done = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", amqp_uri.rsplit("/", 1)[1], "name", "consumers",
                           "--no-table-headers"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return {}
    return {name: int(count) for name, count in (line.split("\t") for line in done.stdout.splitlines())}


def test_run_scaled_starts_two_of_each_behind_one_port():
    environment, scale = run_scaled_recipe()
    assert environment == {"GUNICORN_CMD_ARGS": "--reuse-port"}
    assert {name: count for name, count in scale.items() if name != "tracker_projector"} == \
        {"tickets": 2, "notifier": 2, "chat": 2, "gateway": 2}
    assert set(scale) <= set(procfile())


def test_two_of_each_under_load_lose_nothing_when_one_of_each_is_killed(
        tmp_path, procs, amqp_uri, tickets_db, tickets_engine, notifier_db, notifier_engine, chat_db, chat_engine,
        gateway_db, redis_prefix, smtp_sink, tenants, token_for):
    make_env, _ = run_scaled_recipe()
    commands = procfile()
    port = free_port()
    env = {
        **make_env, **notifier_process_env(notifier_db, smtp_sink),
        "AMQP_URI": amqp_uri, "TICKETS_DATABASE_URL": tickets_db, "CHAT_DATABASE_URL": chat_db,
        "CONSUMER_REQUEUE_DELAY": "0.2", "GATEWAY_DATABASE_URL": gateway_db, "REDIS_URL": TEST_REDIS_URL,
        "GATEWAY_REDIS_PREFIX": redis_prefix, "GATEWAY_PORT": str(port), "GATEWAY_WORKERS": "1",
        "GATEWAY_THREADS": "4", "GATEWAY_ACCESS_LOG": "1", "GATEWAY_READY_SERVICES": "tickets", "RPC_TIMEOUT": "10",
    }
    instances = {name: [procs(commands[name], env, tmp_path / f"{name}-{i}.log") for i in range(2)]
                 for name in ("tickets", "notifier", "chat", "gateway")}

    def two_consumers_each():
        consumers = queue_consumers(amqp_uri)
        services = [consumers.get(f"rpc-{name}") for name in ("tickets", "notifier", "chat")]
        events = [count for queue, count in consumers.items() if queue.startswith("evt-")]
        # Every event queue (migrate declared them all, durable) has both instances of its service.
        return services == [2, 2, 2] and bool(events) and set(events) == {2}
    wait_for(two_consumers_each, timeout=60, interval=0.5, message="two consumers on every service queue")
    for gateway in instances["gateway"]:
        # With --reuse-port each gunicorn worker binds the port itself (the master holds no listener).
        wait_for(lambda: "Booting worker" in gateway.output() or not gateway.alive(), timeout=30, message="gunicorn")
        assert gateway.alive(), gateway.output()
    base = f"http://127.0.0.1:{port}"

    wait_for(lambda: http_ok(f"{base}/readyz"), timeout=30, interval=0.2, message="the gateways to be ready")

    acme = tenants[0]
    headers = {"Authorization": f"Bearer {token_for(acme)}", "Connection": "close"}
    with rpc_proxy(amqp_uri) as rpc:
        conversations = [rpc.chat.start_conversation({"client_id": acme.client_id, "customer_name": f"C{i}",
                                                       "customer_email": f"c{i}@example.com"})["conversation"]["id"]
                         for i in range(TOTAL // EVERY_NTH_FROM_CHAT)]

    created, retried, killed = [], [], {}

    def create(n):
        body = {"title": f"Scaled {n}", "description": "load", "customer_email": f"customer{n}@example.com"}
        if n % EVERY_NTH_FROM_CHAT == 0:
            body["conversation_id"] = conversations[n // EVERY_NTH_FROM_CHAT - 1]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:  # a new connection each time: the kernel spreads them over both gateways
                # One key per logical create: a retry after a lost answer returns the same ticket.
                response = requests.post(f"{base}/api/entities/ticket", json=body, timeout=30,
                                         headers={**headers, "Idempotency-Key": f"scaled-{n}"})
                if response.status_code == 201:
                    created.append(response.json()["ticket_number"])
                    return
                assert response.status_code in (502, 503, 504), response.text
            except requests.ConnectionError:
                pass  # the gateway instance that held this connection was killed
            retried.append(n)
            eventlet.sleep(0.2)
        pytest.fail(f"create {n} did not succeed within 30 s")

    def kill_one_of_each():
        wait_for(lambda: len(created) >= KILL_AFTER, timeout=60, message="load before the kill")
        for name, (victim, _) in instances.items():
            victim.signal(signal.SIGKILL)
            killed[name] = len(created)

    pool = eventlet.GreenPool(9)
    pool.spawn(kill_one_of_each)
    for n in range(1, TOTAL + 1):
        pool.spawn(create, n)
    pool.waitall()

    assert len(killed) == 4 and all(count < TOTAL for count in killed.values()), killed
    for name, (victim, survivor) in instances.items():
        assert not victim.alive() and survivor.alive(), f"{name}: {survivor.output()[-2000:]}"
    # Both gateways served part of the load before the kill.
    for gateway in instances["gateway"]:
        assert "POST /api/entities/ticket" in gateway.output()

    # Numbering: 1..N in the database, no duplicate, no gap, one ticket per create: neither the client's
    # retries nor RPC requests redelivered after a tickets instance died mid-call add one (idempotency keys).
    with tickets_engine.connect() as conn:
        rows = conn.execute(sa.select(Ticket.number, Ticket.ticket_number, Ticket.conversation_id)).all()
    numbers = sorted(number for number, _, _ in rows)
    assert numbers == list(range(1, len(rows) + 1))
    assert len(rows) == TOTAL
    assert set(created) == {ticket_number for _, ticket_number, _ in rows} and len(created) == TOTAL

    # Email: every ticket's "created" email arrives, once. The one exception is the notifier's documented
    # at-least-once window (docs/notifier.md): an attempt killed after the SMTP server's 250 but before it
    # was recorded is sent again after its lease, with the same Message-ID. Allowed only for such a delivery.
    def all_sent():
        with notifier_engine.connect() as conn:
            statuses = dict(conn.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)).all())
        return statuses == {"sent": len(rows)}
    wait_for(all_sent, timeout=45, interval=0.2, message="every delivery sent")
    with notifier_engine.connect() as conn:
        attempts = dict(conn.execute(sa.select(Delivery.ticket_number, Delivery.attempts)).all())
    for _, ticket_number, _ in rows:
        emails = smtp_sink.for_ticket(ticket_number)
        assert len({email.message["Message-ID"] for email in emails}) == 1, ticket_number
        assert len(emails) == 1 or attempts[ticket_number] > 1, ticket_number

    print(f"scaled: {len(rows)} tickets for {TOTAL} creates, {len(retried)} retries, killed at {killed}, "
          f"{sum(a > 1 for a in attempts.values())} emails resent after a lease, {len(smtp_sink.received)} received")

    # Chat: each ticket made from a conversation is linked once, with one system line.
    linked = {ticket_number for _, ticket_number, conversation in rows if conversation}

    def links():
        with chat_engine.connect() as conn:
            return conn.execute(sa.select(TicketLink.ticket_number)).scalars().all()
    wait_for(lambda: len(links()) >= len(linked), timeout=30, message="ticket links")
    assert sorted(links()) == sorted(linked)
    with chat_engine.connect() as conn:
        system_lines = conn.execute(sa.select(Message.body).where(Message.author == "system")).scalars().all()
    assert sorted(system_lines) == sorted(f"Ticket {number} created" for number in linked)
