"""The reports' query contract without services: defaults, the range rules by field, the wire form for the RPC."""
from datetime import date, timedelta

import pytest
from marshmallow import ValidationError

from shared.contracts import report_schemas
from shared.contracts.report_schemas import dump_query, load_query


def test_no_range_is_the_30_days_ending_today():
    query = load_query("volume", {})
    assert query["to"] == report_schemas.today() and query["to"] - query["from_"] == timedelta(days=29)


def test_from_alone_ends_today_and_to_alone_starts_29_days_before():
    assert load_query("sla", {"from": "2026-01-01"})["to"] == report_schemas.today()
    assert load_query("sla", {"to": "2026-03-30"})["from_"] == date(2026, 3, 1)


def test_the_wire_form_names_from_and_keeps_filters():
    query = load_query("response-times", {"from": "2026-11-02", "to": "2026-11-04", "channel": "web"})
    assert dump_query(query) == {"from": "2026-11-02", "to": "2026-11-04", "channel": "web", "by": "priority"}
    assert load_query("response-times", dump_query(query)) == query


@pytest.mark.parametrize("args, field", [
    ({"from": "2026-11-05", "to": "2026-11-04"}, "to"),
    ({"from": "2026-01-01", "to": "2027-01-02"}, "to"),  # 367 days
    ({"from": "2026-13-01"}, "from"),
    ({"to": "2100-01-01"}, "to"),
    ({"priority": "critical"}, "priority"),
    ({"assigned_to": "\x00"}, "assigned_to"),
    ({"client_id": "x"}, "client_id"),
])
def test_bad_queries_name_the_field(args, field):
    with pytest.raises(ValidationError) as error:
        load_query("volume", args)
    assert field in error.value.messages


def test_366_days_is_the_longest_range():
    assert load_query("volume", {"from": "2024-01-01", "to": "2024-12-31"})["to"] == date(2024, 12, 31)  # leap year
