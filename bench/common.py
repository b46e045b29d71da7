"""What every benchmark needs: a private vhost and databases, concurrent callers, percentiles."""
import os
import statistics
import time

import eventlet
import requests
import sqlalchemy as sa

from shared.testing import fresh_database

MANAGEMENT_API = os.environ.get("RABBITMQ_API", "http://guest:guest@127.0.0.1:15672")
# DESKLINE_BENCH_SUFFIX keeps benchmarks run side by side (several worktrees on one machine) apart.
BENCH_SUFFIX = os.environ.get("DESKLINE_BENCH_SUFFIX", "")
BENCH_VHOST = f"deskline_bench{BENCH_SUFFIX}"


def bench_amqp_uri(vhost=BENCH_VHOST):
    """A vhost of its own, so a benchmark neither sees nor disturbs a running system."""
    auth = ("guest", "guest")
    base = MANAGEMENT_API.replace("guest:guest@", "")
    requests.delete(f"{base}/api/vhosts/{vhost}", auth=auth, timeout=10)
    requests.put(f"{base}/api/vhosts/{vhost}", auth=auth, timeout=10).raise_for_status()
    requests.put(
        f"{base}/api/permissions/{vhost}/guest", auth=auth, timeout=10,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    return f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def bench_database(name, migrations_dir):
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}_bench{BENCH_SUFFIX}"
    fresh_database(url, migrations_dir)
    return url


def seed_tickets(url, client_id, count):
    """`count` tickets for one client in one statement (the list's data set), counter advanced to match."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("""
            INSERT INTO tickets (id, number, ticket_number, client_id, title, description, status, priority,
                                 category, customer_name, customer_email, created_at, updated_at, reply_token)
            SELECT gen_random_uuid(), n, 'TKT-' || lpad(n::text, greatest(5, length(n::text)), '0'), :client,
                   'Seeded ticket ' || n, 'Description of ticket ' || n,
                   (ARRAY['open','in_progress','pending','resolved','closed'])[1 + n % 5],
                   (ARRAY['low','medium','high','urgent'])[1 + n % 4], 'general',
                   'Customer ' || n, 'customer' || n || '@example.com',
                   now() - (:count - n) * interval '1 second', now() - (:count - n) * interval '1 second',
                   substr(md5(n::text || random()::text), 1, 24)  -- the thread's reply address token (unique)
            FROM generate_series(1, :count) AS n
        """), {"count": count, "client": client_id})
        conn.execute(sa.text("INSERT INTO ticket_counters (client_id, value) VALUES (:client, :count)"),
                     {"client": client_id, "count": count})
    # As autovacuum leaves a table filled over months: without the visibility map, the list's count
    # is a sequential scan (~35 ms here) instead of an index-only one (~3 ms).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE tickets"))
    engine.dispose()


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(name, latencies, elapsed):
    """One printed line: calls/s, p50, p99 (latencies in seconds)."""
    line = (
        f"{name:<42} {len(latencies) / elapsed:8.1f}/s   p50 {percentile(latencies, 50) * 1000:6.1f} ms"
        f"   p99 {percentile(latencies, 99) * 1000:6.1f} ms   (n={len(latencies)})"
    )
    print(line, flush=True)
    return {"rate": len(latencies) / elapsed, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99)}


def run_concurrently(make_client, call, total, concurrency=16):
    """`total` calls spread over `concurrency` green callers, each with its own client.

    `make_client()` is a context manager (e.g. an RPC proxy); returns (latencies, elapsed seconds).
    """
    latencies, remaining = [], [total]

    def worker():
        with make_client() as client:
            while remaining[0] > 0:
                remaining[0] -= 1
                started = time.perf_counter()
                call(client)
                latencies.append(time.perf_counter() - started)

    pool = eventlet.GreenPool(concurrency)
    started = time.perf_counter()
    for _ in range(concurrency):
        pool.spawn(worker)
    pool.waitall()
    return latencies, time.perf_counter() - started


def median(values):
    return statistics.median(values)
