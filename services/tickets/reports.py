"""Reports over a client's tickets, each one SQL statement over indexed columns (migration 0008_reports):
volume (created, resolved and backlog per day), response times (median and p90 by a dimension), SLA
attainment per priority, satisfaction (the latest ratings). The query format and the answers are
shared/contracts/report_schemas.py's.

Which tickets count: the client's, not deleted, matching the filters. Response times and SLA take the
tickets *created* in the range (a cohort: its figures do not change as days pass, except that late
answers join it); satisfaction takes the latest ratings *given* in the range. A day is a UTC day.
Backlog is what the current row says: a ticket counts as open from its creation until its resolved_at
(reopening clears resolved_at, so a reopened ticket counts as open since its creation).
"""
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa
from marshmallow import ValidationError as SchemaError

from shared.contracts import report_schemas
from shared.contracts.exceptions import ValidationError
from shared.contracts.report_schemas import RATINGS

# The dimension's column; agent is the assignee.
DIMENSION_COLUMNS = {"priority": "priority", "category": "category", "channel": "channel", "agent": "assigned_to"}
FILTER_COLUMNS = ("priority", "category", "channel", "assigned_to")
WORK_MEM = "64MB"
# The key of the row of all the tickets (no priority, category, channel or e-mail address is "all").
TOTAL = "all"
# sla_fired bits (services/tickets/sla.py FIRED): the breach went out before any outcome was written.
FIRST_RESPONSE_BREACH_FIRED, RESOLUTION_BREACH_FIRED = 2, 8


def _instant(day):
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _scope(query, client_id):
    """(the WHERE clause shared by every report, its parameters)."""
    where = ["client_id = :client_id", "deleted_at IS NULL"]
    params = {"client_id": client_id, "start": _instant(query["from_"]),
              "end": _instant(query["to"] + timedelta(days=1)), "from_day": query["from_"], "to_day": query["to"]}
    for name in FILTER_COLUMNS:
        if name in query:
            where.append(f"{name} = :f_{name}")
            params[f"f_{name}"] = query[name]
    return " AND ".join(where), params


def _head(query):
    filters = {name: query[name] for name in FILTER_COLUMNS if name in query}
    return {"from": query["from_"].isoformat(), "to": query["to"].isoformat(), "filters": filters}


def load(report_name, args, client_id):
    """The validated query of report `report_name`; ValidationError names the field."""
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 64:
        raise ValidationError({"client_id": ["Missing or longer than 64 characters."]})
    if report_name not in report_schemas.QUERY_SCHEMAS:
        raise ValidationError({"name": [f"Must be one of: {', '.join(report_schemas.REPORTS)}."]})
    try:
        return report_schemas.load_query(report_name, args if isinstance(args, dict) else {})
    except SchemaError as exc:
        raise ValidationError(exc.messages) from None


def report(session, name, args, client_id):
    """Report `name` over the client's tickets for the query `args` (the wire form: strings)."""
    query = load(name, args, client_id)
    # The percentiles sort each group's times: in memory, not in temporary files (a year is ~1 M values). No JIT:
    # the planner's estimate for the day series' joins is huge, and compiling cost seconds for a query of 0.2 s.
    session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    session.execute(sa.text("SET LOCAL jit = off"))
    return REPORTS[name](session, query, client_id)


def volume(session, query, client_id):
    where, params = _scope(query, client_id)
    # Backlog at the start: the tickets created before it and not resolved before it - the unresolved ones (a
    # partial index holds only those) and the ones resolved since the start (the resolutions index, created_at
    # included): neither count reads the whole history. MATERIALIZED: computed once, read twice.
    rows = session.execute(sa.text(f"""
        WITH days AS (SELECT generate_series(CAST(:from_day AS date), CAST(:to_day AS date), interval '1 day')::date AS day),
        created AS (
            SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM tickets
            WHERE {where} AND created_at >= :start AND created_at < :end GROUP BY 1),
        resolved AS (
            SELECT (resolved_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM tickets
            WHERE {where} AND resolved_at >= :start AND resolved_at < :end GROUP BY 1),
        before AS MATERIALIZED (
            SELECT (SELECT count(*) FROM tickets WHERE {where} AND resolved_at IS NULL AND created_at < :start)
                 + (SELECT count(*) FROM tickets WHERE {where} AND resolved_at >= :start AND created_at < :start) AS n)
        SELECT days.day, coalesce(created.n, 0) AS created, coalesce(resolved.n, 0) AS resolved,
               before.n + sum(coalesce(created.n, 0) - coalesce(resolved.n, 0)) OVER (ORDER BY days.day) AS backlog,
               before.n AS backlog_before
        FROM days CROSS JOIN before LEFT JOIN created USING (day) LEFT JOIN resolved USING (day)
        ORDER BY days.day
    """), params).all()
    table = [{"date": row.day.isoformat(), "created": row.created, "resolved": row.resolved,
              "backlog": int(row.backlog)} for row in rows]
    return {**_head(query), "columns": ["date", "created", "resolved", "backlog"], "rows": table, "totals": {
        "created": sum(row["created"] for row in table), "resolved": sum(row["resolved"] for row in table),
        "backlog_start": rows[0].backlog_before if rows else None, "backlog_end": table[-1]["backlog"] if table else None}}


def _seconds(value):
    return None if value is None else round(float(value), 1)


def response_times(session, query, client_id):
    where, params = _scope(query, client_id)
    column = DIMENSION_COLUMNS[query["by"]]
    first = "EXTRACT(EPOCH FROM first_response_at - created_at)"
    resolution = "EXTRACT(EPOCH FROM resolved_at - created_at)"
    # GROUPING SETS: one row per value, and the row of all tickets (GROUPING() = 1) last.
    rows = session.execute(sa.text(f"""
        SELECT {column} AS key, GROUPING({column}) AS total, count(*) AS tickets,
               count(first_response_at) AS responded,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {first}) AS fr_median,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY {first}) AS fr_p90,
               count(resolved_at) AS resolved,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY {resolution}) AS res_median,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY {resolution}) AS res_p90
        FROM tickets WHERE {where} AND created_at >= :start AND created_at < :end
        GROUP BY GROUPING SETS (({column}), ())
        ORDER BY GROUPING({column}), count(*) DESC, {column} NULLS LAST
    """), params).all()
    table = [{"key": TOTAL if row.total else row.key, "tickets": row.tickets, "responded": row.responded,
              "first_response_median_s": _seconds(row.fr_median), "first_response_p90_s": _seconds(row.fr_p90),
              "resolved": row.resolved, "resolution_median_s": _seconds(row.res_median),
              "resolution_p90_s": _seconds(row.res_p90)} for row in rows]
    return {**_head(query), "by": query["by"], "columns": list(report_schemas.ResponseTimeRowSchema().fields),
            "rows": table}


def _percent(part, whole):
    return None if not whole else round(100.0 * part / whole, 1)


def sla(session, query, client_id):
    where, params = _scope(query, client_id)
    # Met: the outcome written when it happened. Breached: that outcome, or the scheduler's breach already
    # sent for a target still open (sla_fired), so an unanswered ticket past due counts against the SLA.
    rows = session.execute(sa.text(f"""
        SELECT priority AS key, GROUPING(priority) AS total, count(*) AS tickets,
               count(*) FILTER (WHERE sla_first_response_outcome = 'achieved') AS fr_met,
               count(*) FILTER (WHERE sla_first_response_outcome = 'breached'
                                   OR (sla_first_response_outcome IS NULL AND sla_fired & {FIRST_RESPONSE_BREACH_FIRED} <> 0)) AS fr_breached,
               count(*) FILTER (WHERE sla_resolution_outcome = 'achieved') AS res_met,
               count(*) FILTER (WHERE sla_resolution_outcome = 'breached'
                                   OR (sla_resolution_outcome IS NULL AND sla_fired & {RESOLUTION_BREACH_FIRED} <> 0)) AS res_breached
        FROM tickets WHERE {where} AND created_at >= :start AND created_at < :end
              AND sla_first_response_seconds IS NOT NULL
        GROUP BY GROUPING SETS ((priority), ())
        ORDER BY GROUPING(priority), array_position(ARRAY['urgent', 'high', 'medium', 'low']::varchar[], priority)
    """), params).all()
    if len(rows) == 1 and rows[0].tickets == 0:
        rows = []  # no ticket: no "all" row of zeros either
    table = [{"priority": TOTAL if row.total else row.key, "tickets": row.tickets,
              "first_response_met": row.fr_met, "first_response_breached": row.fr_breached,
              "first_response_attainment": _percent(row.fr_met, row.fr_met + row.fr_breached),
              "resolution_met": row.res_met, "resolution_breached": row.res_breached,
              "resolution_attainment": _percent(row.res_met, row.res_met + row.res_breached)} for row in rows]
    return {**_head(query), "columns": list(report_schemas.SlaRowSchema().fields), "rows": table}


def satisfaction(session, query, client_id):
    where, params = _scope(query, client_id)
    counts = dict(session.execute(sa.text(f"""
        SELECT rating, count(*) FROM tickets
        WHERE {where} AND rated_at >= :start AND rated_at < :end AND rating IS NOT NULL
        GROUP BY rating
    """), params).all())
    rated = sum(counts.get(rating, 0) for rating in RATINGS)
    table = [{"rating": rating, "count": counts.get(rating, 0), "percent": _percent(counts.get(rating, 0), rated)}
             for rating in RATINGS]
    return {**_head(query), "rated": rated, "score": _percent(counts.get("good", 0), rated),
            "columns": ["rating", "count", "percent"], "rows": table}


REPORTS = {"volume": volume, "response-times": response_times, "sla": sla, "satisfaction": satisfaction}
