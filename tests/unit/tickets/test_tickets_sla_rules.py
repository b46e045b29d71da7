"""The SLA clock (services/tickets/sla.py) on a ticket object: targets per priority, pending pauses,
priority changes, warnings at 80 %, breaches once, outcomes, and the policy's validation."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.tickets import sla
from services.tickets.models import Ticket

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)  # a Tuesday
OFFICE = {"timezone": "Europe/Berlin", "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


def new_ticket(priority="urgent", status="open", policy=sla.DEFAULT_POLICY, now=T0):
    ticket = Ticket(client_id="acme", priority=priority, status=status)
    sla.start(ticket, policy, now)
    return ticket


def test_defaults_are_24_7_and_follow_priority():
    ticket = new_ticket("urgent")
    assert ticket.sla_first_response_due_at == T0 + timedelta(hours=1)
    assert ticket.sla_resolution_due_at == T0 + timedelta(hours=8)
    assert ticket.sla_first_response_warn_at == T0 + timedelta(minutes=48)
    assert ticket.sla_due_at == T0 + timedelta(hours=1)
    assert ticket.sla_next_check_at == T0 + timedelta(minutes=48)
    assert new_ticket("low").sla_first_response_due_at == T0 + timedelta(hours=24)


def test_business_hours_policy_moves_due_over_the_night():
    policy = sla.parse_policy({"calendar": OFFICE, "targets": {"high": {"first_response_minutes": 240}}})
    ticket = new_ticket("high", policy=policy, now=datetime(2026, 12, 1, 15, 0, tzinfo=BERLIN))
    assert ticket.sla_first_response_due_at == datetime(2026, 12, 2, 11, 0, tzinfo=BERLIN)


def test_pending_pauses_the_clock_and_resuming_continues_it():
    ticket = new_ticket("urgent")
    # 30 minutes open, then two days pending (waiting on the customer), then open again.
    ticket.status = "pending"
    sla.status_changed(ticket, "open", sla.ALWAYS_OPEN, T0 + timedelta(minutes=30))
    assert ticket.sla_clock_started_at is None and ticket.sla_consumed_seconds == 1800
    assert ticket.sla_due_at is None and ticket.sla_next_check_at is None
    assert sla.state(ticket)["paused"]
    back = T0 + timedelta(days=2)
    ticket.status = "open"
    sla.status_changed(ticket, "pending", sla.ALWAYS_OPEN, back)
    assert ticket.sla_first_response_due_at == back + timedelta(minutes=30)
    assert ticket.sla_resolution_due_at == back + timedelta(hours=7, minutes=30)


def test_pending_pause_in_business_hours_counts_only_open_time():
    policy = sla.parse_policy({"calendar": OFFICE})
    ticket = new_ticket("medium", policy=policy, now=datetime(2026, 12, 4, 16, 0, tzinfo=BERLIN))  # Friday
    ticket.status = "pending"
    sla.status_changed(ticket, "open", policy.calendar, datetime(2026, 12, 7, 10, 0, tzinfo=BERLIN))  # Monday
    assert ticket.sla_consumed_seconds == 2 * 3600  # Friday 16-17 and Monday 9-10
    ticket.status = "in_progress"
    sla.status_changed(ticket, "pending", policy.calendar, datetime(2026, 12, 9, 9, 0, tzinfo=BERLIN))
    assert ticket.sla_first_response_due_at == datetime(2026, 12, 9, 15, 0, tzinfo=BERLIN)  # 8 h - 2 h used


def test_a_priority_change_recomputes_with_time_already_used():
    ticket = new_ticket("low")
    ticket.priority = "urgent"
    sla.priority_changed(ticket, sla.DEFAULT_POLICY, T0 + timedelta(minutes=20))
    assert ticket.sla_first_response_seconds == 3600
    assert ticket.sla_first_response_due_at == T0 + timedelta(hours=1)  # counted from the start


def test_warning_then_breach_each_once():
    ticket = new_ticket("urgent")
    assert sla.due_events(ticket, T0 + timedelta(minutes=47)) == []
    due = T0 + timedelta(hours=1)
    assert sla.due_events(ticket, T0 + timedelta(minutes=50)) == [("first_response", "warning", due)]
    assert sla.due_events(ticket, T0 + timedelta(minutes=55)) == []
    ticket.sla_next_check_at = sla.next_check(ticket)
    assert ticket.sla_next_check_at == due
    assert sla.due_events(ticket, due) == [("first_response", "breached", due)]
    assert sla.due_events(ticket, due + timedelta(minutes=5)) == []
    assert sla.next_check(ticket) == T0 + timedelta(hours=6, minutes=24)  # the resolution's warning


def test_a_late_scheduler_sends_the_breach_without_the_stale_warning():
    ticket = new_ticket("urgent")
    events = sla.due_events(ticket, T0 + timedelta(hours=2))
    assert events == [("first_response", "breached", T0 + timedelta(hours=1))]
    assert sla.state(ticket)["first_response"]["warned"]  # marked: it never goes out later


def test_outcomes_are_recorded_when_first_response_and_resolution_happen():
    ticket = new_ticket("urgent")
    sla.first_response(ticket, sla.ALWAYS_OPEN, T0 + timedelta(minutes=30))
    assert ticket.sla_first_response_outcome == "achieved"
    assert ticket.sla_due_at == ticket.sla_resolution_due_at  # the next target is now the resolution
    ticket.status = "resolved"
    sla.status_changed(ticket, "open", sla.ALWAYS_OPEN, T0 + timedelta(hours=9))
    assert ticket.sla_resolution_outcome == "breached"
    assert ticket.sla_due_at is None and ticket.sla_next_check_at is None
    # Reopened: the resolution target runs again with the time already used.
    ticket.status = "open"
    sla.status_changed(ticket, "resolved", sla.ALWAYS_OPEN, T0 + timedelta(days=1))
    assert ticket.sla_resolution_outcome is None
    assert ticket.sla_resolution_due_at == T0 + timedelta(days=1)  # 9 h used of 8: due at once


def test_a_paused_ticket_that_already_breached_stays_breached():
    ticket = new_ticket("urgent")
    sla.due_events(ticket, T0 + timedelta(hours=2))
    ticket.status = "pending"
    sla.status_changed(ticket, "open", sla.ALWAYS_OPEN, T0 + timedelta(hours=2))
    assert ticket.sla_due_at == T0 + timedelta(hours=1)
    assert sla.state(ticket)["first_response"]["breached"]


@pytest.mark.parametrize("data, field", [
    ({"targets": {"urgent": {"first_response_minutes": 0}}}, "targets.urgent.first_response_minutes"),
    ({"targets": {"urgent": {"first_response_minutes": "60"}}}, "targets.urgent.first_response_minutes"),
    ({"targets": {"urgent": {"first_response_minutes": 600, "resolution_minutes": 60}}},
     "targets.urgent.first_response_minutes"),
    ({"targets": {"critical": {}}}, "targets.critical"),
    ({"targets": {"low": {"response": 5}}}, "targets.low"),
    ({"calendar": {"timezone": "Nowhere/Land"}}, "calendar.timezone"),
    ({"colour": "red"}, "colour"),
])
def test_bad_policies_name_the_field(data, field):
    with pytest.raises(sla.PolicyError) as error:
        sla.parse_policy(data)
    assert error.value.field == field


def test_a_policy_round_trips_and_keeps_defaults_for_missing_priorities():
    policy = sla.parse_policy({"calendar": OFFICE, "targets": {"urgent": {"first_response_minutes": 30}}})
    dumped = sla.dump_policy(policy)
    assert dumped["targets"]["urgent"] == {"first_response_minutes": 30, "resolution_minutes": 480}
    assert dumped["targets"]["low"] == {"first_response_minutes": 1440, "resolution_minutes": 7200}
    assert sla.parse_policy(dumped) == policy
    assert dumped["calendar"]["timezone"] == "Europe/Berlin"


def test_state_is_none_for_tickets_older_than_slas():
    assert sla.state(Ticket(client_id="acme", priority="low", status="open")) is None
    assert sla.state(new_ticket())["first_response"]["target_minutes"] == 60


def test_a_ticket_created_resolved_achieved_its_resolution_and_never_ticks():
    ticket = new_ticket("high", status="resolved")
    assert ticket.sla_resolution_outcome == "achieved" and ticket.sla_first_response_outcome is None
    assert ticket.sla_next_check_at is None and sla.state(ticket)["paused"]
