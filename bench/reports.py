"""Reports benchmark: every report over 1,000,000 tickets (900,000 of one client over the last 400 days, the rest
another's), its p50 and p95 over a 30-day range, the longest range (366 days), and 366 days with filters.

Each report is called as the tickets service's RPC runs it (services/tickets/reports.py, one session per call)
against a bench database filled with SQL generate_series: times include the query and building the answer, not
the broker hop (~4 ms, docs/performance.md). Aim: p95 < 500 ms."""
import os
import time

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from shared.platform.green import patch

patch()  # first: monkey patching
from bench.common import bench_database, percentile  # noqa: E402
from services.tickets import reports  # noqa: E402
from services.tickets.config import MIGRATIONS_DIR  # noqa: E402

TICKETS = int(os.environ.get("REPORTS_BENCH_TICKETS", 1_000_000))
CLIENT, OTHER = "bench", "other"
DAYS = 400
RUNS = int(os.environ.get("REPORTS_BENCH_RUNS", 20))
AGENTS = 20
# Set: measure an already seeded bench database again (after a change to the queries), not seed it anew.
KEEP = os.environ.get("REPORTS_BENCH_KEEP") == "1"

# A ticket's life from n and random(): a tenth are another client's; created over DAYS days; 85 % answered within
# hours; 75 % resolved within days (unless that is still ahead); SLA outcomes from the default targets; a third
# of the resolved rated.
SEED = f"""
INSERT INTO tickets (id, number, ticket_number, client_id, title, description, status, priority, category, channel,
                     assigned_to, created_at, updated_at, reply_token, first_response_at, resolved_at,
                     sla_first_response_seconds, sla_resolution_seconds, sla_first_response_outcome,
                     sla_resolution_outcome, sla_fired, rating, rated_at)
SELECT gen_random_uuid(), n, 'TKT-' || lpad(n::text, greatest(5, length(n::text)), '0'),
       CASE WHEN n % 10 = 0 THEN '{OTHER}' ELSE '{CLIENT}' END, 'Seeded ticket', 'Description',
       CASE WHEN resolved IS NULL THEN 'open' ELSE 'resolved' END, priority,
       (ARRAY['general','technical','billing','account','feature_request','other'])[1 + n % 6],
       (ARRAY['chat','email','web','agent','api'])[1 + n % 5],
       CASE WHEN n % 7 = 0 THEN NULL ELSE 'agent' || (n % {AGENTS}) || '@bench.example' END,
       created, coalesce(resolved, created), substr(md5(n::text), 1, 24), responded, resolved, fr, res,
       CASE WHEN responded IS NULL THEN NULL WHEN responded - created <= fr * interval '1 second' THEN 'achieved' ELSE 'breached' END,
       CASE WHEN resolved IS NULL THEN NULL WHEN resolved - created <= res * interval '1 second' THEN 'achieved' ELSE 'breached' END,
       CASE WHEN responded IS NULL AND now() - created > fr * interval '1 second' THEN 3 ELSE 0 END
         + CASE WHEN resolved IS NULL AND now() - created > res * interval '1 second' THEN 12 ELSE 0 END,
       CASE WHEN resolved IS NOT NULL AND n % 3 = 0 THEN (ARRAY['good','good','okay','bad'])[1 + n % 4] END,
       CASE WHEN resolved IS NOT NULL AND n % 3 = 0 THEN resolved + interval '1 hour' END
FROM (
  SELECT n, created, priority, fr, res,
         CASE WHEN r1 < 0.85 THEN created + (r1 * 10) * interval '1 hour' END AS responded,
         CASE WHEN r2 < 0.75 AND created + (r2 * 8) * interval '1 day' < now()
              THEN created + (r2 * 8) * interval '1 day' END AS resolved
  FROM (
    SELECT n, now() - random() * {DAYS} * interval '1 day' AS created, random() AS r1, random() AS r2,
           (ARRAY['low','medium','high','urgent'])[1 + n % 4] AS priority,
           (ARRAY[86400, 28800, 14400, 3600])[1 + n % 4] AS fr, (ARRAY[432000, 172800, 86400, 28800])[1 + n % 4] AS res
    FROM generate_series(1, :count) AS n) AS base) AS lives
"""

QUERIES = [
    ("30 days", {"from_days_ago": 29}),
    ("366 days", {"from_days_ago": 365}),
    ("366 days, priority + agent", {"from_days_ago": 365, "priority": "high", "assigned_to": "agent2@bench.example"}),
    ("366 days, channel", {"from_days_ago": 365, "channel": "email"}),
]
REPORTS = [("volume", {}), *[("response-times", {"by": by}) for by in ("priority", "category", "channel", "agent")],
           ("sla", {}), ("satisfaction", {})]


def seed(url):
    """The tickets in one INSERT with the table's indexes dropped, then every index built again (a bulk build is
    many times faster than a million index updates); the same indexes as migrated, so the same plans."""
    engine = sa.create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        indexes = conn.execute(sa.text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'tickets' AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)")).all()
        for index in indexes:
            conn.execute(sa.text(f'DROP INDEX "{index.indexname}"'))
        conn.execute(sa.text(SEED), {"count": TICKETS})
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for index in indexes:
            conn.execute(sa.text(index.indexdef))
        # Numbers are per client (the seed gives each its share of 1..count): each client's counter at its highest.
        conn.execute(sa.text("INSERT INTO ticket_counters (client_id, value) SELECT client_id, max(number) FROM tickets "
                             "GROUP BY client_id"))
    # As autovacuum leaves a table filled over months: the visibility map lets the covering index answer alone.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE tickets"))
    print(f"seeded {TICKETS:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    return engine


def main():
    from datetime import datetime, timedelta, timezone

    if KEEP:
        from bench.common import BENCH_SUFFIX
        engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:5432/deskline_tickets_reports_bench{BENCH_SUFFIX}")
    else:
        engine = seed(bench_database("deskline_tickets_reports", MIGRATIONS_DIR))
    sessions = sessionmaker(bind=engine)
    today = datetime.now(timezone.utc).date()
    print(f"reports over {TICKETS:,} tickets ({RUNS} runs each; ms)", flush=True)
    worst = 0.0
    for label, spec in QUERIES:
        spec = dict(spec)
        query = {"from": (today - timedelta(days=spec.pop("from_days_ago"))).isoformat(), "to": today.isoformat(), **spec}
        for name, extra in REPORTS:
            times = []
            for _ in range(RUNS):
                started = time.perf_counter()
                with sessions() as session:
                    result = reports.report(session, name, {**query, **extra}, CLIENT)
                times.append(time.perf_counter() - started)
            worst = max(worst, percentile(times, 95))
            what = name + (f" by {extra['by']}" if extra else "")
            print(f"  {label:<28} {what:<28} p50 {percentile(times, 50) * 1000:7.1f}   p95 {percentile(times, 95) * 1000:7.1f}"
                  f"   ({len(result['rows'])} rows)", flush=True)
    print(f"worst p95: {worst * 1000:.1f} ms (aim < 500 ms)", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
