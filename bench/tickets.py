"""Tickets service benchmark: creates and list through RPC with two instances, beside a no-op RPC.

Only the tickets service runs (and PostgreSQL, RabbitMQ): no gateway, and no consumer of its events
(the notifier, chat and the projector): bench/day.py runs the whole system."""
import time

import sqlalchemy as sa

from shared.platform.green import patch

patch()  # first: monkey patching
from bench.common import bench_amqp_uri, bench_database, percentile, run_concurrently, seed_tickets, summary  # noqa: E402
from services.tickets.config import MIGRATIONS_DIR  # noqa: E402
from shared.testing import ServiceProcess, rpc_proxy, wait_for  # noqa: E402

NEW = {"title": "Bench ticket", "description": "Measured.", "client_id": "bench", "customer_email": "c@bench.io"}
SEED_TICKETS = 100_000


def main(instances=2, creates=2000, pings=2000, lists=1000, concurrency=16):
    amqp_uri = bench_amqp_uri()
    db_url = bench_database("deskline_tickets", MIGRATIONS_DIR)
    seed_tickets(db_url, "bench", SEED_TICKETS)
    processes = [ServiceProcess("tickets", {"TICKETS_DATABASE_URL": db_url}, amqp_uri) for _ in range(instances)]
    try:
        for process in processes:
            process.start()
        proxy = lambda: rpc_proxy(amqp_uri, timeout=30)  # noqa: E731
        print(f"\n== tickets: {instances} instances, {concurrency} concurrent callers, "
              f"{SEED_TICKETS:,} tickets seeded ==", flush=True)
        run_concurrently(proxy, lambda rpc: rpc.tickets.ping(), 200, concurrency)  # warm-up
        noop = summary("no-op RPC (ping)", *run_concurrently(proxy, lambda rpc: rpc.tickets.ping(), pings, concurrency))
        create = summary("create_ticket", *run_concurrently(
            proxy, lambda rpc: rpc.tickets.create_ticket(NEW), creates, concurrency))
        print(f"{'creates/s as a share of no-op calls/s':<42} {create['rate'] / noop['rate'] * 100:8.0f} %")
        list_open = lambda rpc: rpc.tickets.list_tickets({"client_id": "bench", "status": "open"})  # noqa: E731
        summary("list_tickets (status=open, first page)", *run_concurrently(proxy, list_open, lists, concurrency))
        # One caller: the list's own cost, without queueing behind 15 others on two cores.
        summary("list_tickets (status=open), 1 caller", *run_concurrently(proxy, list_open, lists // 2, 1))
        summary("list_tickets (q=ticket 9999, first page)", *run_concurrently(
            proxy, lambda rpc: rpc.tickets.list_tickets({"client_id": "bench", "q": "ticket 9999"}), lists // 4,
            concurrency))
        publish_latency(db_url)
    finally:
        for process in processes:
            process.stop()


def publish_latency(db_url):
    """Commit-to-publish delay of the creates' events, from the outbox's own timestamps."""
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        wait_for(lambda: conn.scalar(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")) == 0,
                 timeout=30, message="outbox drained")
        delays = [row[0] for row in conn.execute(sa.text(
            "SELECT extract(epoch FROM published_at - created_at) FROM outbox"))]
    engine.dispose()
    print(f"{'event published after commit':<42} {'':>10}   p50 {percentile(delays, 50) * 1000:6.1f} ms"
          f"   p99 {percentile(delays, 99) * 1000:6.1f} ms   max {max(delays) * 1000:.1f} ms (n={len(delays)})")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(tickets benchmark took {time.perf_counter() - started:.0f} s)")
