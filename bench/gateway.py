"""Gateway benchmark through HTTP (16 keep-alive connections): ticket creates, tracker lookups (hits
and misses interleaved, so that their medians compare under the same load), and the ticket list's
first page with one filter over 100,000 tickets. `python -m bench.gateway` alone, or via `make bench`.

What runs, as in production on this one machine: gunicorn (gthread, 2 x 8), the tickets service, the
tracker projector, PostgreSQL, RabbitMQ and Redis. Left out: the notifier and chat (each create's
e-mail and chat check are not paid for here: bench/day.py runs the whole system).
"""
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.parse
from contextlib import contextmanager

import redis
import sqlalchemy as sa

from shared.platform.green import patch

patch()  # first: the benchmark's own callers are green threads
from bench.common import bench_amqp_uri, bench_database, percentile, run_concurrently, seed_tickets, summary  # noqa: E402
from services.tickets.config import MIGRATIONS_DIR as TICKETS_MIGRATIONS  # noqa: E402
from services.tracker_gateway.config import MIGRATIONS_DIR as GATEWAY_MIGRATIONS  # noqa: E402
from shared.testing import ROOT, ServiceProcess, free_port, wait_for  # noqa: E402

SEED_TICKETS = 100_000
REDIS_URL = "redis://127.0.0.1:6379/1"
REDIS_PREFIX = "bench:gw:"
AGENT_EMAIL, AGENT_PASSWORD = "bench@bench.example", "bench password, not a secret"
AIMS = {"create": (250, 0.100), "lookup hit": (300, 0.050), "lookup miss": (300, 0.050), "list": (None, 0.050)}



def make_tenant(url):
    from sqlalchemy.orm import Session

    from services.tracker_gateway.accounts import tenants

    engine = sa.create_engine(url)
    with Session(engine) as session:
        client = tenants.create_client(session, "Bench", "bench")
        tenants.create_agent(session, "bench", AGENT_EMAIL, "Bench agent", "admin", AGENT_PASSWORD)
        session.commit()
        client_id = str(client.id)
    engine.dispose()
    return client_id


class Client:
    """One keep-alive HTTP connection (what a browser or an API client holds)."""

    def __init__(self, port, token=None, timeout=30):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method, path, body=None, expect=(200,)):
        headers = dict(self.headers)
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in expect:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return json.loads(data) if data else None

    def close(self):
        self.connection.close()


def client_factory(port, token=None):
    @contextmanager
    def make():
        client = Client(port, token)
        try:
            yield client
        finally:
            client.close()
    return make


class Processes:
    """The system under test, each part in its own OS process."""

    def __init__(self, env, amqp_uri):
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.tickets = ServiceProcess("tickets", {"TICKETS_DATABASE_URL": env["TICKETS_DATABASE_URL"]}, amqp_uri)
        self.others = []

    def spawn(self, *args):
        log = open(f"/tmp/deskline-bench-{args[0]}.log", "wb")
        process = subprocess.Popen([sys.executable, "-m", "services.tracker_gateway", *args], cwd=ROOT,
                                   env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.others.append((process, log))
        return process

    def stop(self):
        for process, log in self.others:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, log in self.others:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
        self.tickets.stop()


def lookup_path(number, email):
    return "/api/public/track?" + urllib.parse.urlencode({"ticket": number, "email": email})


def main(creates=2000, lookups=4000, lists=1000, concurrency=16, seed=SEED_TICKETS):
    amqp_uri = bench_amqp_uri()
    tickets_db = bench_database("deskline_tickets", TICKETS_MIGRATIONS)
    gateway_db = bench_database("deskline_gateway", GATEWAY_MIGRATIONS)
    client_id = make_tenant(gateway_db)
    seed_tickets(tickets_db, client_id, seed)
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
        store.delete(key)
    # The seeded tickets are for the list only: skip the projector's first-run backfill of them.
    store.set(f"{REDIS_PREFIX}trk:meta:backfilled:v2", "bench")
    port = free_port()
    env = {
        "AMQP_URI": amqp_uri, "TICKETS_DATABASE_URL": tickets_db, "GATEWAY_DATABASE_URL": gateway_db,
        "REDIS_URL": REDIS_URL, "GATEWAY_REDIS_PREFIX": REDIS_PREFIX, "GATEWAY_PORT": str(port),
        "RPC_TIMEOUT": "30", "TRACKER_FAILURES_PER_IP": str(10**9), "TRACKER_FAILURES_PER_TICKET": str(10**9),
        "LOG_LEVEL": "WARNING",
    }
    system = Processes(env, amqp_uri)
    try:
        system.tickets.start()
        system.spawn("projector")
        system.spawn("run")
        wait_for(lambda: _answers(port), timeout=30, interval=0.2, message="gunicorn")
        login = Client(port)
        token = login.request("POST", "/api/auth/login", {"email": AGENT_EMAIL, "password": AGENT_PASSWORD})["access_token"]
        login.close()
        agents = client_factory(port, token)
        public = client_factory(port)
        print(f"\n== gateway: HTTP, {concurrency} connections, gunicorn gthread 2x8, "
              f"{seed:,} seeded tickets ==", flush=True)
        run_concurrently(public, lambda c: c.request("GET", lookup_path("TKT-00001", "x@y.z"), expect=(404,)),
                         300, concurrency)  # warm-up: every thread's proxies, pools and templates
        counter = iter(range(10**9))
        made = []  # (number, email): numbers follow commit order, not the order of sending

        def create(c):
            email = f"c{next(counter)}@bench.io"
            ticket = c.request("POST", "/api/entities/ticket", expect=(201,), body={
                "title": "Bench ticket", "description": "Measured.", "customer_email": email})
            made.append((ticket["ticket_number"], email))
        results = {"create": summary("POST /api/entities/ticket (create)", *run_concurrently(
            agents, create, creates, concurrency))}

        wait_for(lambda: all(store.exists(f"{REDIS_PREFIX}trk:t:{{{number}}}:{client_id}") for number, _ in made[-50:]),
                 timeout=60, message="projection")
        latencies = {"hit": [], "miss": []}

        def lookup(c):
            number, email = random.choice(made)
            kind = "hit" if next(counter) % 2 else "miss"
            # A hit as a customer types it (capitals, a stray space); a miss with the wrong address.
            email = f" {email.upper()}" if kind == "hit" else f"wrong.{email}"
            started = time.perf_counter()
            c.request("GET", lookup_path(number, email), expect=(200,) if kind == "hit" else (404,))
            latencies[kind].append(time.perf_counter() - started)
        _, elapsed = run_concurrently(public, lookup, lookups, concurrency)
        for kind in ("hit", "miss"):
            results[f"lookup {kind}"] = summary(f"GET /api/public/track ({kind}, interleaved)",
                                                latencies[kind], elapsed)
        gap = abs(percentile(latencies["hit"], 50) - percentile(latencies["miss"], 50)) * 1000
        print(f"{'  hit/miss median gap':<42} {gap:8.2f} ms   (aim <= 1 ms)", flush=True)
        results["lookup median gap ms"] = gap

        results["list"] = summary("GET /api/entities/ticket?status=open", *run_concurrently(
            agents, lambda c: c.request("GET", "/api/entities/ticket?status=open&per_page=20"), lists, concurrency))
        for name, (rate, p99) in AIMS.items():
            r = results[name]
            ok = (rate is None or r["rate"] >= rate) and r["p99"] <= p99
            aim = (f">= {rate}/s, " if rate else "") + f"p99 <= {p99 * 1000:.0f} ms"
            print(f"  {name:<14} aim {aim:<26} {'met' if ok else 'NOT met'}", flush=True)
        return results
    finally:
        system.stop()
        for key in store.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
            store.delete(key)
        store.close()


def _answers(port):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(gateway benchmark took {time.perf_counter() - started:.0f} s)")
