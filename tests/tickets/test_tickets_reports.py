"""Reports in the tickets service against its real database: every figure of the hand-computed fixture
(tests/fixtures/reports.py), other clients' and deleted tickets never counted, bad queries refused by field."""
import pytest

from services.tickets import reports
from shared.contracts.exceptions import ValidationError
from tests.fixtures.reports import ALICE, BOB, FROM, TO, make_tickets, rate

RANGE = {"from": FROM, "to": TO}


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def ids(session):
    return make_tickets(session)


def run(session, name, client="acme", **query):
    return reports.report(session, name, {**RANGE, **query}, client)


def test_volume_counts_created_resolved_and_the_backlog_per_day(session, ids):
    got = run(session, "volume")
    assert got["columns"] == ["date", "created", "resolved", "backlog"]
    # Created: T3-T5, T6-T8, T9 (T10 deleted). Resolved: T1 T3, T4 T7, T8 T9. Open before: T1, T2.
    assert got["rows"] == [
        {"date": "2026-11-02", "created": 3, "resolved": 2, "backlog": 3},
        {"date": "2026-11-03", "created": 3, "resolved": 2, "backlog": 4},
        {"date": "2026-11-04", "created": 1, "resolved": 2, "backlog": 3},
    ]
    assert got["totals"] == {"created": 7, "resolved": 6, "backlog_start": 2, "backlog_end": 3}
    assert got["from"] == FROM and got["to"] == TO and got["filters"] == {}


def test_volume_filters_and_days_without_tickets(session, ids):
    got = run(session, "volume", priority="high", **{"from": "2026-11-01", "to": "2026-11-05"})
    # high: T1 (01, resolved 02), T5 (02, open), T9 (04, resolved 04); T12 is globex's.
    assert [(r["created"], r["resolved"], r["backlog"]) for r in got["rows"]] == [
        (1, 0, 1), (1, 1, 1), (0, 0, 1), (1, 1, 1), (0, 0, 1)]
    assert got["filters"] == {"priority": "high"}
    assert run(session, "volume", assigned_to="nobody@acme.io")["totals"]["created"] == 0


def test_response_times_by_priority_median_and_p90(session, ids):
    got = run(session, "response-times")
    assert got["by"] == "priority"
    assert got["columns"] == ["key", "tickets", "responded", "first_response_median_s", "first_response_p90_s",
                              "resolved", "resolution_median_s", "resolution_p90_s"]
    rows = {row["key"]: row for row in got["rows"]}
    assert [row["key"] for row in got["rows"]] == ["high", "medium", "urgent", "low", "all"]
    # urgent: first replies 30 and 90 min, resolutions 4 h and 24 h (p90 interpolated: 30 + 0.9 x 60 min).
    assert rows["urgent"] == {"key": "urgent", "tickets": 2, "responded": 2, "first_response_median_s": 3600.0,
                              "first_response_p90_s": 5040.0, "resolved": 2, "resolution_median_s": 50400.0,
                              "resolution_p90_s": 79200.0}
    assert rows["high"] == {"key": "high", "tickets": 2, "responded": 2, "first_response_median_s": 2400.0,
                            "first_response_p90_s": 3360.0, "resolved": 1, "resolution_median_s": 3600.0,
                            "resolution_p90_s": 3600.0}
    assert rows["medium"] == {"key": "medium", "tickets": 2, "responded": 1, "first_response_median_s": 600.0,
                              "first_response_p90_s": 600.0, "resolved": 1, "resolution_median_s": 7200.0,
                              "resolution_p90_s": 7200.0}
    assert rows["low"]["first_response_median_s"] == 7200.0 and rows["low"]["resolution_median_s"] == 86400.0
    # All seven: first replies 10, 20, 30, 60, 90, 120 min; resolutions 1, 2, 4, 24, 24 h.
    assert rows["all"] == {"key": "all", "tickets": 7, "responded": 6, "first_response_median_s": 2700.0,
                          "first_response_p90_s": 6300.0, "resolved": 5, "resolution_median_s": 14400.0,
                          "resolution_p90_s": 86400.0}


def test_response_times_by_agent_and_by_channel(session, ids):
    rows = run(session, "response-times", by="agent")["rows"]
    assert [(row["key"], row["tickets"]) for row in rows] == [(ALICE, 3), (BOB, 3), (None, 1), ("all", 7)]
    alice, bob, unassigned = rows[0], rows[1], rows[2]
    assert (alice["first_response_median_s"], alice["first_response_p90_s"]) == (5400.0, 6840.0)
    assert (alice["resolution_median_s"], alice["resolution_p90_s"]) == (86400.0, 86400.0)
    assert (bob["first_response_median_s"], bob["first_response_p90_s"]) == (1200.0, 3120.0)
    assert (bob["resolution_median_s"], bob["resolution_p90_s"]) == (5400.0, 6840.0)
    assert unassigned["responded"] == 0 and unassigned["first_response_median_s"] is None
    by_channel = {row["key"]: row for row in run(session, "response-times", by="channel")["rows"]}
    assert set(by_channel) == {"agent", "email", "web", "chat", "all"}
    assert by_channel["email"]["first_response_median_s"] == 3000.0  # T4 90 min, T7 10 min
    assert by_channel["chat"]["responded"] == 1 and by_channel["chat"]["tickets"] == 2
    billing = run(session, "response-times", by="category", category="billing")["rows"]
    assert [(row["key"], row["tickets"]) for row in billing] == [("billing", 1), ("all", 1)]


def test_sla_attainment_from_outcomes_and_breaches_already_sent(session, ids):
    got = run(session, "sla")
    rows = {row["priority"]: row for row in got["rows"]}
    assert [row["priority"] for row in got["rows"]] == ["urgent", "high", "medium", "low", "all"]
    assert rows["urgent"] == {"priority": "urgent", "tickets": 2, "first_response_met": 1,
                              "first_response_breached": 1, "first_response_attainment": 50.0,
                              "resolution_met": 1, "resolution_breached": 1, "resolution_attainment": 50.0}
    # T5 answered in time but unresolved past its due time (breach sent); T9 met both.
    assert (rows["high"]["first_response_attainment"], rows["high"]["resolution_attainment"]) == (100.0, 50.0)
    # T6 never answered: both its breaches were sent by the scheduler.
    assert (rows["medium"]["first_response_breached"], rows["medium"]["resolution_breached"]) == (1, 1)
    assert (rows["low"]["first_response_attainment"], rows["low"]["resolution_attainment"]) == (100.0, 100.0)
    assert rows["all"] == {"priority": "all", "tickets": 7, "first_response_met": 5, "first_response_breached": 2,
                          "first_response_attainment": 71.4, "resolution_met": 4, "resolution_breached": 3,
                          "resolution_attainment": 57.1}
    assert got["columns"] == list(rows["all"])


def test_satisfaction_counts_the_latest_ratings_given_in_the_range(session, ids):
    rate(session, ids)
    got = run(session, "satisfaction")
    # T1 (created before the range, rated in it), T3, T7 good; T8 okay; T4 bad; T9 rated after; T12 globex's.
    assert got["rated"] == 5 and got["score"] == 60.0
    assert got["rows"] == [{"rating": "good", "count": 3, "percent": 60.0}, {"rating": "okay", "count": 1, "percent": 20.0},
                           {"rating": "bad", "count": 1, "percent": 20.0}]
    assert run(session, "satisfaction", assigned_to=BOB)["rows"][0]["count"] == 1


def test_another_clients_tickets_are_never_counted(session, ids):
    rate(session, ids)
    globex = {name: run(session, name, client="globex") for name in reports.REPORTS}
    assert globex["volume"]["totals"] == {"created": 1, "resolved": 1, "backlog_start": 0, "backlog_end": 0}
    assert globex["response-times"]["rows"][-1]["tickets"] == 1
    assert globex["sla"]["rows"][-1]["tickets"] == 1
    assert globex["satisfaction"]["rated"] == 1
    nobody = {name: run(session, name, client="initech") for name in reports.REPORTS}
    assert nobody["volume"]["totals"]["created"] == 0 and nobody["response-times"]["rows"][-1]["tickets"] == 0
    assert nobody["sla"]["rows"] == [] and nobody["satisfaction"]["score"] is None


@pytest.mark.parametrize("name, query, field", [
    ("volume", {"from": "2026-11-05", "to": "2026-11-04"}, "to"),
    ("volume", {"from": "2025-01-01", "to": "2026-11-04"}, "to"),
    ("volume", {"from": "yesterday"}, "from"),
    ("volume", {"to": "1999-12-31"}, "to"),
    ("sla", {"priority": "critical"}, "priority"),
    ("sla", {"channel": "fax"}, "channel"),
    ("satisfaction", {"category": ""}, "category"),
    ("satisfaction", {"assigned_to": "x" * 256}, "assigned_to"),
    ("response-times", {"by": "customer"}, "by"),
    ("volume", {"by": "agent"}, "by"),
    ("volume", {"client_id": "globex"}, "client_id"),
    ("nonsense", {}, "name"),
])
def test_bad_queries_are_refused_with_the_field(session, name, query, field):
    with pytest.raises(ValidationError) as error:
        reports.report(session, name, query, "acme")
    assert field in error.value.errors


def test_no_range_means_the_last_30_days(session):
    got = reports.report(session, "volume", {}, "acme")
    assert len(got["rows"]) == 30 and got["rows"][-1]["date"] == got["to"]
