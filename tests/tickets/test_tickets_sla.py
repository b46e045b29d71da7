"""SLA in the tickets service against its real database: due times at create and on changes, the
policy RPCs, the scheduler's tick (timeline, outbox, once), the list's SLA filters and sort."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.tickets import conversation, operations, sla_operations
from services.tickets.models import Ticket
from shared.contracts.exceptions import ValidationError

NOW = datetime.now(timezone.utc).replace(microsecond=0)
OFFICE = {"timezone": "Europe/Berlin", "hours": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
          "holidays": ["2026-12-25"]}


def valid(**overrides):
    return {"title": "Printer on fire", "description": "It is on fire.", "client_id": "acme", **overrides}


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def create(session, now=NOW, **overrides):
    ticket, _ = operations.create_ticket(session, valid(**overrides), now=now)
    session.commit()
    return ticket


def test_create_sets_targets_from_the_default_policy(session):
    ticket = create(session, priority="urgent")
    assert ticket["sla"]["first_response"] == {"target_minutes": 60, "due_at": (NOW + timedelta(hours=1)).isoformat(),
                                               "outcome": None, "warned": False, "breached": False}
    assert ticket["sla"]["resolution"]["due_at"] == (NOW + timedelta(hours=8)).isoformat()
    assert ticket["sla"]["due_at"] == ticket["sla"]["first_response"]["due_at"] and not ticket["sla"]["paused"]


def test_a_client_policy_with_business_hours_applies_to_new_tickets(session):
    sla_operations.put_sla(session, "acme", {"calendar": OFFICE, "targets": {"high": {"first_response_minutes": 120}}},
                           actor="admin@acme.io")
    session.commit()
    friday_evening = datetime(2026, 12, 4, 18, 0, tzinfo=timezone.utc)
    ticket = create(session, now=friday_evening, priority="high")
    # Closed until Monday 09:00 Berlin (08:00 UTC): two business hours later is 10:00 UTC.
    assert ticket["sla"]["first_response"]["due_at"] == "2026-12-07T10:00:00+00:00"
    other = create(session, now=friday_evening, priority="high", client_id="globex")  # no policy: 24/7 defaults
    assert other["sla"]["first_response"]["due_at"] == "2026-12-04T22:00:00+00:00"
    got = sla_operations.get_sla(session, "acme")
    assert got["default"] is False and got["updated_by"] == "admin@acme.io"
    assert got["calendar"] == OFFICE and got["targets"]["high"]["first_response_minutes"] == 120
    assert sla_operations.get_sla(session, "globex")["default"] is True


def test_put_sla_refuses_bad_policies_with_the_field_and_writes_nothing(session):
    with pytest.raises(ValidationError) as error:
        sla_operations.put_sla(session, "acme", {"targets": {"urgent": {"resolution_minutes": -5}}})
    assert error.value.errors == {"targets.urgent.resolution_minutes": ["must be a whole number of minutes, 1 to 525600"]}
    with pytest.raises(ValidationError) as error:
        sla_operations.put_sla(session, "acme", {"calendar": {"timezone": "Europe/Berlin", "hours": {"mon": [["x", "y"]]}}})
    assert list(error.value.errors) == ["calendar.hours.mon.0"]
    session.rollback()
    assert sla_operations.get_sla(session, "acme")["default"] is True


def test_pending_pauses_and_priority_change_recomputes(session):
    ticket = create(session, priority="urgent")
    paused, _, _ = operations.update_ticket(session, ticket["id"], {"status": "pending"}, now=NOW + timedelta(minutes=20))
    session.commit()
    assert paused["sla"]["paused"] and paused["sla"]["due_at"] is None
    resumed, _, _ = operations.update_ticket(session, ticket["id"], {"status": "open"}, now=NOW + timedelta(hours=5))
    session.commit()
    assert resumed["sla"]["first_response"]["due_at"] == (NOW + timedelta(hours=5, minutes=40)).isoformat()
    lowered, _, _ = operations.update_ticket(session, ticket["id"], {"priority": "low"}, now=NOW + timedelta(hours=6))
    session.commit()
    # 24 h for low, 20 minutes already used before the pause.
    assert lowered["sla"]["first_response"]["due_at"] == (NOW + timedelta(hours=5, minutes=40) + timedelta(hours=23))\
        .isoformat()


def test_tick_publishes_warning_and_breach_once_with_timeline_entries(session):
    ticket = create(session, priority="urgent", now=NOW - timedelta(minutes=50))
    count, events = sla_operations.tick(session, now=NOW)
    session.commit()
    assert count == 1 and [e.event_type for e in events] == ["ticket.sla_warning"]
    data = events[0].payload["data"]
    assert data["target"] == "first_response" and data["ticket"]["sla"]["first_response"]["warned"]
    assert sla_operations.tick(session, now=NOW) == (0, [])  # nothing until the due time
    count, events = sla_operations.tick(session, now=NOW + timedelta(minutes=10))
    session.commit()
    assert [e.event_type for e in events] == ["ticket.sla_breached"]
    assert sla_operations.tick(session, now=NOW + timedelta(minutes=20)) == (0, [])
    history = operations.get_history(session, ticket["id"])
    assert [(h["action"], h["field"]) for h in history] == [
        ("created", None), ("sla_warning", "first_response"), ("sla_breached", "first_response")]
    assert history[2]["new_value"] == (NOW + timedelta(minutes=10)).isoformat()


def test_resolving_records_the_outcome_for_reports(session):
    late = create(session, priority="urgent", now=NOW - timedelta(hours=9))
    on_time = create(session, priority="urgent", now=NOW - timedelta(hours=1))
    for ticket in (late, on_time):
        operations.update_ticket(session, ticket["id"], {"status": "resolved"}, now=NOW)
    session.commit()
    outcomes = dict(session.execute(sa.select(Ticket.ticket_number, Ticket.sla_resolution_outcome)).all())
    assert outcomes == {late["ticket_number"]: "breached", on_time["ticket_number"]: "achieved"}


def test_first_response_is_recorded(session):
    ticket = operations.get_ticket(session, create(session, priority="urgent", now=NOW - timedelta(minutes=30))["id"])
    sla_operations.record_first_response(session, ticket, NOW)
    session.commit()
    assert ticket.sla_first_response_outcome == "achieved"
    assert ticket.sla_due_at == ticket.sla_resolution_due_at


def test_list_filters_breached_and_due_soon_and_sorts_by_due(session):
    breached = create(session, priority="urgent", now=NOW - timedelta(hours=2), title="late")
    soon = create(session, priority="urgent", now=NOW - timedelta(minutes=20), title="soon")
    later = create(session, priority="low", title="later")
    paused = create(session, priority="urgent", status="pending", title="waiting")

    def listed(**filters):
        return [t["title"] for t in operations.list_tickets(session, {"client_id": "acme", **filters})["items"]]

    assert listed(sla="breached") == ["late"]
    assert listed(sla="due_soon") == ["soon"]
    assert listed(sort="sla_due_at") == ["late", "soon", "later", "waiting"]
    assert listed(sort="-sla_due_at") == ["later", "soon", "late", "waiting"]  # no due time: last either way
    with pytest.raises(ValidationError):
        listed(sla="someday")
    assert {breached["id"], soon["id"], later["id"], paused["id"]}


def test_sla_rpcs_answer_and_refuse_with_the_field(tickets_rpc):
    assert tickets_rpc.get_sla("acme")["targets"]["urgent"] == {"first_response_minutes": 60, "resolution_minutes": 480}
    saved = tickets_rpc.put_sla("acme", {"calendar": OFFICE}, actor="admin@acme.io")
    assert saved["calendar"] == OFFICE and saved["default"] is False
    assert tickets_rpc.get_sla("acme") == saved
    with pytest.raises(ValidationError) as error:
        tickets_rpc.put_sla("acme", {"calendar": {"timezone": "Atlantis/Capital"}})
    assert error.value.errors == {"calendar.timezone": ["must be an IANA time zone, e.g. Europe/Berlin"]}


def test_the_first_public_reply_records_the_outcome_and_waiting_on_the_customer_pauses(session):
    ticket = create(session, priority="urgent", now=NOW - timedelta(minutes=90))
    note = {"body": "checking", "visibility": "internal", "author_type": "agent", "author_name": "Ann", "channel": "agent"}
    conversation.add_message(session, ticket["id"], note, now=NOW - timedelta(minutes=80))
    session.commit()
    reply = {**note, "body": "Please send the logs", "visibility": "public", "status": "pending"}
    result, _ = conversation.add_message(session, ticket["id"], reply, now=NOW)
    session.commit()
    sla = result["ticket"]["sla"]
    assert sla["first_response"]["outcome"] == "breached"  # 90 minutes against a 60-minute target
    assert sla["paused"] and sla["resolution"]["due_at"] is None
    answer = {"body": "here", "visibility": "public", "author_type": "customer", "author_name": "Kira", "channel": "web"}
    result, _ = conversation.add_message(session, ticket["id"], answer, now=NOW + timedelta(hours=3))
    session.commit()
    # Reopened by the customer: 90 minutes were used of the 8 h resolution target, the 3 h wait was not.
    assert result["ticket"]["status"] == "open"
    assert result["ticket"]["sla"]["resolution"]["due_at"] == (NOW + timedelta(hours=3 + 6, minutes=30)).isoformat()
