"""The agent list over 100,000 tickets: the first page with one filter (status=open) at 16 connections
through HTTP, its p99 and the CPU each list costs (gunicorn, the tickets service and the PostgreSQL
backends of the benchmark's database, from /proc, as bench/day.py counts them).

What runs: gunicorn (gthread, 2 x 8), the tickets service, the tracker projector, PostgreSQL, RabbitMQ
and Redis. Left out: the notifier and chat, which a list does not reach (no event, no call).
`python -m bench.ticket_list`, or via `make bench`.
"""
import os
import time

from shared.platform.green import patch

patch()  # first: the benchmark's own callers are green threads
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import bench_amqp_uri, bench_database, percentile, run_concurrently, seed_tickets  # noqa: E402
from bench.day import CpuMeter, children_map, tree  # noqa: E402
from bench.gateway import (  # noqa: E402
    AGENT_EMAIL,
    AGENT_PASSWORD,
    REDIS_PREFIX,
    REDIS_URL,
    Client,
    Processes,
    _answers,
    client_factory,
    make_tenant,
)
from services.tickets.config import MIGRATIONS_DIR as TICKETS_MIGRATIONS  # noqa: E402
from services.tracker_gateway.config import MIGRATIONS_DIR as GATEWAY_MIGRATIONS  # noqa: E402
from shared.testing import free_port, wait_for  # noqa: E402

SEED_TICKETS = 100_000
AIM_P99, AIM_CPU_MS = 0.050, 5.0
PATH = "/api/entities/ticket?status=open&per_page=20"


def _list(client, refused):
    body = client.request("GET", PATH, expect=(200, 503))
    if "error" in body:
        refused.append(body["error"])


def main(lists=int(os.environ.get("BENCH_LIST_CALLS", "2000")), concurrency=16, seed=SEED_TICKETS):
    amqp_uri = bench_amqp_uri()
    tickets_db = bench_database("deskline_tickets", TICKETS_MIGRATIONS)
    gateway_db = bench_database("deskline_gateway", GATEWAY_MIGRATIONS)
    client_id = make_tenant(gateway_db)
    seed_tickets(tickets_db, client_id, seed)
    store = redis.Redis.from_url(REDIS_URL)
    store.set(f"{REDIS_PREFIX}trk:meta:backfilled", "bench")
    port = free_port()
    env = {
        "AMQP_URI": amqp_uri, "TICKETS_DATABASE_URL": tickets_db, "GATEWAY_DATABASE_URL": gateway_db,
        "REDIS_URL": REDIS_URL, "GATEWAY_REDIS_PREFIX": REDIS_PREFIX, "GATEWAY_PORT": str(port),
        "RPC_TIMEOUT": "30", "LOG_LEVEL": "WARNING",
    }
    system = Processes(env, amqp_uri)
    pg = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", pool_size=1)

    def backends():
        with pg.connect() as conn:
            return [row[0] for row in conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"),
                {"names": [sa.engine.make_url(url).database for url in (tickets_db, gateway_db)]})]
    try:
        system.tickets.start()
        system.spawn("projector")
        gunicorn = system.spawn("run")
        wait_for(lambda: _answers(port), timeout=120, interval=0.2, message="gunicorn")
        login = Client(port)
        token = login.request("POST", "/api/auth/login", {"email": AGENT_EMAIL, "password": AGENT_PASSWORD})["access_token"]
        login.close()
        agents = client_factory(port, token)
        run_concurrently(agents, lambda c: c.request("GET", PATH), 200, concurrency)  # warm-up
        meter = CpuMeter({
            "gateway (gunicorn)": lambda: tree(gunicorn.pid, children_map()),
            "tickets": lambda: [system.tickets.process.pid],
            "PostgreSQL (our backends)": backends,
        })
        refused = []
        meter.start()
        latencies, elapsed = run_concurrently(agents, lambda c: _list(c, refused), lists, concurrency)
        cpu, _ = meter.stop()
        p99 = percentile(latencies, 99)
        total = sum(cpu.values()) / len(latencies)
        print(f"\n== ticket list: GET {PATH}, {seed:,} tickets, {concurrency} connections ==", flush=True)
        print(f"{len(latencies) / elapsed:.1f} lists/s   p50 {percentile(latencies, 50) * 1000:.1f} ms   "
              f"p99 {p99 * 1000:.1f} ms   (n={len(latencies)})", flush=True)
        for name, used in cpu.items():
            print(f"  {name:<28} {used / len(latencies):6.2f} ms CPU per list", flush=True)
        if refused:
            print(f"  {len(refused)} answered 503 (the gateway's RPC pool saturated)", flush=True)
        print(f"  {'total':<28} {total:6.2f} ms CPU per list", flush=True)
        ok = p99 <= AIM_P99 and total <= AIM_CPU_MS
        print(f"  aim p99 <= {AIM_P99 * 1000:.0f} ms and <= {AIM_CPU_MS:g} ms CPU: {'met' if ok else 'NOT met'}",
              flush=True)
        return {"rate": len(latencies) / elapsed, "p99": p99, "cpu_ms": total}
    finally:
        system.stop()
        pg.dispose()
        for key in store.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
            store.delete(key)
        store.close()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(list benchmark took {time.perf_counter() - started:.0f} s)")
