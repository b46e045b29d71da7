"""Ticket rules, without database or broker."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.tickets import domain
from services.tickets.models import Ticket

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "number, expected",
    [(1, "TKT-00001"), (42, "TKT-00042"), (99999, "TKT-99999"), (100000, "TKT-100000"), (1234567, "TKT-1234567")],
)
def test_ticket_numbers_have_at_least_five_digits(number, expected):
    assert domain.format_ticket_number(number) == expected


def test_a_reference_is_a_number_or_an_id():
    ticket_id = uuid.uuid4()
    assert domain.parse_ref("TKT-00042") == ("number", 42)
    assert domain.parse_ref(" tkt-100000 ") == ("number", 100000)
    assert domain.parse_ref(str(ticket_id)) == ("id", ticket_id)
    for junk in ("TKT-42", "TKT-", "42", "", "'; drop table tickets", None, 42, ["TKT-00001"]):
        assert domain.parse_ref(junk) is None


def ticket(**values):
    defaults = dict(status="open", priority="medium", title="t", resolved_at=None, closed_at=None, updated_at=NOW)
    return Ticket(**{**defaults, **values})


def test_apply_changes_reports_only_real_changes():
    t = ticket()
    later = NOW + timedelta(minutes=5)
    diff = domain.apply_changes(t, {"priority": "high", "title": "t", "status": "open"}, later)
    assert diff == {"priority": {"from": "medium", "to": "high"}}
    assert t.priority == "high" and t.updated_at == later


def test_nothing_changed_leaves_updated_at_alone():
    t = ticket()
    assert domain.apply_changes(t, {"status": "open"}, NOW + timedelta(hours=1)) == {}
    assert t.updated_at == NOW


def test_resolving_closing_and_reopening_stamp_and_clear_times():
    t = ticket()
    resolved, closed, reopened = (NOW + timedelta(hours=h) for h in (1, 2, 3))
    domain.apply_changes(t, {"status": "resolved"}, resolved)
    assert (t.resolved_at, t.closed_at) == (resolved, None)
    domain.apply_changes(t, {"status": "closed"}, closed)
    assert (t.resolved_at, t.closed_at) == (resolved, closed)
    domain.apply_changes(t, {"status": "open"}, reopened)
    assert (t.resolved_at, t.closed_at) == (None, None)


def test_closing_an_unresolved_ticket_stamps_both():
    t = ticket(status="in_progress")
    domain.apply_changes(t, {"status": "closed"}, NOW)
    assert (t.resolved_at, t.closed_at) == (NOW, NOW)
