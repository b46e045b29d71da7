"""SLA scheduler benchmark: the cost of a minute of ticks with 100,000 open tickets (CPU ms of the tick's
own process and PostgreSQL query time per tick), idle and while warnings and breaches come due.

The tick runs in this process against its own database (the scheduler's function, as the tickets
service's timer calls it); a minute is four ticks 15 s apart (TICKETS_SLA_TICK_SECONDS' default),
played one after the other with the clock moved on. No service runs: the events it would publish are
counted, not consumed."""
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.platform.green import patch

patch()  # first: monkey patching
from bench.common import percentile  # noqa: E402
from services.tickets import sla_operations  # noqa: E402
from services.tickets.config import MIGRATIONS_DIR  # noqa: E402
from shared.testing import fresh_database  # noqa: E402

OPEN_TICKETS = 100_000
TICK_SECONDS = 15
DATABASE = "postgresql+psycopg2://postgres@127.0.0.1:5432/deskline_tickets_sla_bench"

# Default targets (24/7): first response, resolution seconds per priority; as services/tickets/sla.py has them.
SEED = """
INSERT INTO tickets (id, number, ticket_number, client_id, title, description, status, priority, category,
                     created_at, updated_at, reply_token, channel, sla_first_response_seconds, sla_resolution_seconds,
                     sla_consumed_seconds, sla_clock_started_at, sla_fired)
SELECT gen_random_uuid(), n, 'TKT-' || lpad(n::text, greatest(5, length(n::text)), '0'), 'bench',
       'Seeded ticket ' || n, 'Description ' || n, (ARRAY['open','in_progress'])[1 + n % 2],
       (ARRAY['low','medium','high','urgent'])[1 + n % 4], 'general', t, t, substr(md5(n::text), 1, 24), 'api',
       fr, res, 0, t, 0
FROM (SELECT n, fr, res, now() - (random() * 0.8 * fr) * interval '1 second' AS t
      FROM (SELECT n, (ARRAY[86400, 28800, 14400, 3600])[1 + n % 4] AS fr,
                      (ARRAY[432000, 172800, 86400, 28800])[1 + n % 4] AS res
            FROM generate_series(1, :count) AS n) AS targets) AS opened
"""
SCHEDULE = """
UPDATE tickets SET
  sla_first_response_warn_at = created_at + 0.8 * sla_first_response_seconds * interval '1 second',
  sla_first_response_due_at = created_at + sla_first_response_seconds * interval '1 second',
  sla_resolution_warn_at = created_at + 0.8 * sla_resolution_seconds * interval '1 second',
  sla_resolution_due_at = created_at + sla_resolution_seconds * interval '1 second',
  sla_due_at = created_at + sla_first_response_seconds * interval '1 second',
  sla_next_check_at = created_at + 0.8 * sla_first_response_seconds * interval '1 second'
"""


def seed(engine):
    """100,000 open tickets (a quarter of each priority), opened at random within 80 % of their first-response
    target: none has crossed anything yet, and warnings come due from now on, the urgent ones most often."""
    with engine.begin() as conn:
        conn.execute(sa.text(SEED), {"count": OPEN_TICKETS})
        conn.execute(sa.text(SCHEDULE))
        conn.execute(sa.text("INSERT INTO ticket_counters (client_id, value) VALUES ('bench', :count)"),
                     {"count": OPEN_TICKETS})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE tickets"))


class QueryClock:
    """PostgreSQL time as the client sees it: the sum of every statement's execution on `engine`."""

    def __init__(self, engine):
        self.total = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.total += time.perf_counter() - conn.info.pop("started")


def one_tick(sessions, clock, now):
    """(wall ms, process CPU ms, query ms, events) of one tick: every batch until nothing is due, committed."""
    wall, cpu, queries, events = time.perf_counter(), time.process_time(), clock.total, 0
    while True:
        with sessions() as session:
            claimed, rows = sla_operations.tick(session, now=now)
            events += len(rows)
            session.commit()
        if claimed < sla_operations.TICK_BATCH:
            break
    return ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000,
            (clock.total - queries) * 1000, events)


def report(label, ticks):
    walls, cpus, queries, events = zip(*ticks)
    per_minute = 60 // TICK_SECONDS
    print(f"{label:<44} per tick: CPU p50 {percentile(cpus, 50):7.1f} ms, queries p50 {percentile(queries, 50):7.1f} ms, "
          f"wall max {max(walls):7.1f} ms; per minute: CPU {sum(cpus) / len(ticks) * per_minute:8.1f} ms, "
          f"queries {sum(queries) / len(ticks) * per_minute:8.1f} ms, {sum(events) / len(ticks) * per_minute:6.0f} events")


def main(minutes=3):
    from sqlalchemy.orm import sessionmaker

    fresh_database(DATABASE, MIGRATIONS_DIR)
    engine = sa.create_engine(DATABASE)
    started = time.perf_counter()
    seed(engine)
    print(f"\n== SLA scheduler: {OPEN_TICKETS:,} open tickets (seeded in {time.perf_counter() - started:.0f} s), "
          f"a tick every {TICK_SECONDS} s ==", flush=True)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    clock = QueryClock(engine)
    with engine.connect() as conn:
        plan = conn.execute(sa.text(
            "EXPLAIN SELECT * FROM tickets WHERE sla_next_check_at <= now() AND sla_next_check_at IS NOT NULL "
            "AND deleted_at IS NULL ORDER BY sla_next_check_at LIMIT 200 FOR UPDATE SKIP LOCKED")).scalars().all()
    print("tick query plan: " + " / ".join(line.strip() for line in plan if "Scan" in line))

    # Idle: nothing due (the clock held at the seed's moment, before the first warning).
    base = datetime.now(timezone.utc) - timedelta(hours=1)
    report("idle (nothing due)", [one_tick(sessions, clock, base) for _ in range(20)])
    # Busy: warnings of the urgent, high, medium and low tickets as they come due, minute after minute.
    now = datetime.now(timezone.utc)
    one_tick(sessions, clock, now)  # what came due while seeding
    ticks = []
    for step in range(1, minutes * 60 // TICK_SECONDS + 1):
        ticks.append(one_tick(sessions, clock, now + timedelta(seconds=step * TICK_SECONDS)))
    report(f"busy ({minutes} min of warnings coming due)", ticks)
    # A backlog: the scheduler was down for ten minutes; the first tick after it catches up in batches of 200.
    catch_up = one_tick(sessions, clock, now + timedelta(minutes=minutes + 10))
    print(f"{'catch-up after 10 min without a scheduler':<44} {catch_up[3]:,} events in {catch_up[0] / 1000:.1f} s "
          f"(CPU {catch_up[1]:.0f} ms, queries {catch_up[2]:.0f} ms, {catch_up[3] / (catch_up[0] / 1000):,.0f} events/s)")
    engine.dispose()


if __name__ == "__main__":
    main()
