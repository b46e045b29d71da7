"""Bulk actions and queue counts (issue 14): operations against real PostgreSQL, and the RPC with real
events for a batch of 1,000 tickets."""
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.tickets import bulk, operations, queues
from services.tickets.models import OutboxEvent, Ticket, TicketChange
from shared.contracts.exceptions import ValidationError
from shared.testing import EventCollector, rpc_proxy


def valid(i=0, **overrides):
    return {"title": f"Ticket {i}", "description": "Something broke.", "client_id": "acme",
            "customer_email": f"c{i}@example.com", **overrides}


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def make(session, count, **overrides):
    numbers = [operations.create_ticket(session, valid(i, **overrides))[0]["ticket_number"] for i in range(count)]
    session.commit()
    return numbers


def changes_of(session, number):
    ticket = operations.get_ticket(session, number)
    return session.scalars(sa.select(TicketChange).where(TicketChange.ticket_id == ticket.id,
                                                         TicketChange.action != "created")).all()


def events_of(session, event_type):
    return session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == event_type)).all()


def test_a_batch_changes_each_ticket_as_a_single_update_would(session):
    numbers = make(session, 3)
    operations.update_ticket(session, numbers[1], {"priority": "high"}, "ann", "acme")
    session.commit()
    before = len(events_of(session, "ticket.updated"))
    result, events = bulk.bulk_update(session, {"tickets": numbers, "changes": {"priority": "high", "assigned_to": "bo@acme.io"}},
                                      actor="ann@acme.io", client_id="acme")
    session.commit()
    assert result == {"changed": 3, "unchanged": 0, "failed": []}
    assert len(events) == 3 and len(events_of(session, "ticket.updated")) == before + 3
    # One history entry per changed field, as a single update records: the ticket already high records only its assignee.
    assert sorted(c.field for c in changes_of(session, numbers[0])) == ["assigned_to", "priority"]
    assert sorted(c.field for c in changes_of(session, numbers[1])) == ["assigned_to", "priority"]  # one from the earlier update
    payload = events[0].payload["data"]
    assert payload["actor"] == "ann@acme.io"
    assert payload["changes"] == {"priority": {"from": "medium", "to": "high"}, "assigned_to": {"from": None, "to": "bo@acme.io"}}
    again, events = bulk.bulk_update(session, {"tickets": numbers, "changes": {"priority": "high"}}, "ann", "acme")
    assert again == {"changed": 0, "unchanged": 3, "failed": []} and events == []


def test_one_invalid_change_fails_only_its_ticket_and_leaves_it_untouched(session):
    numbers = make(session, 4)
    request = {"tickets": [numbers[0], {"ticket": numbers[1], "changes": {"status": "bogus"}}, numbers[2],
                           "TKT-99999", "not a ref"],
               "changes": {"status": "resolved", "category": "billing"}}
    result, events = bulk.bulk_update(session, request, "ann", "acme")
    session.commit()
    assert result["changed"] == 2 and result["unchanged"] == 0
    assert [(f["ticket"], f["error"]) for f in result["failed"]] == [
        (numbers[1], "validation_error"), ("TKT-99999", "not_found"), ("not a ref", "not_found")]
    assert result["failed"][0]["errors"] == {"status": ["Must be one of: open, in_progress, pending, resolved, closed."]}
    untouched = operations.get_ticket(session, numbers[1])
    assert (untouched.status, untouched.category) == ("open", "general") and changes_of(session, numbers[1]) == []
    assert operations.get_ticket(session, numbers[0]).resolved_at is not None  # the single update's rules ran
    assert operations.get_ticket(session, numbers[3]).status == "open"  # not named: not touched


def test_a_ticket_failing_midway_is_rolled_back_to_its_savepoint(session, monkeypatch):
    numbers = make(session, 3)
    record = operations.outbox.record

    def fail_for_the_second(session_, model, event_type, data, now=None):
        if data["ticket"]["ticket_number"] == numbers[1]:
            raise sa.exc.DataError("INSERT outbox", {}, Exception("value too long"))
        return record(session_, model, event_type, data, now)

    monkeypatch.setattr(operations.outbox, "record", fail_for_the_second)
    result, events = bulk.bulk_update(session, {"tickets": numbers, "changes": {"priority": "urgent"}}, "ann", "acme")
    session.commit()
    assert result["changed"] == 2 and [f["ticket"] for f in result["failed"]] == [numbers[1]]
    # Its history rows were written before the failure: the savepoint took them back with the field.
    assert operations.get_ticket(session, numbers[1]).priority == "medium" and changes_of(session, numbers[1]) == []
    assert [operations.get_ticket(session, n).priority for n in (numbers[0], numbers[2])] == ["urgent", "urgent"]
    assert len(events) == 2 and len(events_of(session, "ticket.updated")) == 2


def test_tenancy_a_batch_never_reaches_another_clients_tickets(session):
    mine = make(session, 1)
    theirs = make(session, 2, client_id="globex")  # numbers are per client: TKT-00001 is also acme's own
    result, _ = bulk.bulk_update(session, {"tickets": mine + theirs[1:], "delete": True}, "ann", "acme")
    session.commit()
    assert result["changed"] == 1 and result["failed"] == [
        {"ticket": theirs[1], "error": "not_found", "message": f"No ticket {theirs[1]} in this client.", "errors": {}}]
    for number in theirs:
        assert operations.get_ticket(session, number, client_id="globex").deleted_at is None
    with pytest.raises(Exception):
        operations.get_ticket(session, mine[0], client_id="acme")


def test_a_batch_by_filter_and_its_bound(session, monkeypatch):
    make(session, 3, priority="low")
    make(session, 2, priority="high")
    result, _ = bulk.bulk_update(session, {"filter": {"priority": "low"}, "changes": {"status": "pending"}}, "ann", "acme")
    session.commit()
    assert result == {"changed": 3, "unchanged": 0, "failed": []}
    assert queues.queue_counts(session, "acme")["queues"]["pending"] == 3
    monkeypatch.setattr(bulk, "BULK_MAX", 1)
    with pytest.raises(ValidationError) as error:
        bulk.bulk_update(session, {"filter": {"priority": "high"}, "changes": {"status": "pending"}}, "ann", "acme")
    assert error.value.errors == {"filter": ["Matches 2 tickets; a batch holds at most 1: narrow the filter."]}


@pytest.mark.parametrize("request_, field", [
    ({"tickets": ["TKT-00001"]}, "changes"),
    ({"tickets": ["TKT-00001"], "changes": {"title": "x"}}, "changes"),
    ({"tickets": ["TKT-00001"], "changes": {"status": "bogus"}}, "changes"),
    ({"tickets": [], "changes": {"status": "open"}}, "tickets"),
    ({"filter": {}, "tickets": ["TKT-00001"], "changes": {"status": "open"}}, "tickets"),
    ({"tickets": ["TKT-00001"], "changes": {"status": "open"}, "delete": True}, "changes"),
    ({"tickets": ["TKT-00001"] * 1001, "changes": {"status": "open"}}, "tickets"),
])
def test_a_malformed_batch_is_refused_whole(session, request_, field):
    make(session, 1)
    with pytest.raises(ValidationError) as error:
        bulk.bulk_update(session, request_, "ann", "acme")
    assert field in error.value.errors
    assert changes_of(session, "TKT-00001") == []


def test_queue_counts_and_views(session):
    now = datetime.now(timezone.utc)
    make(session, 2)  # open, unassigned
    make(session, 1, assigned_to="ann@acme.io")
    make(session, 1, assigned_to="ann@acme.io", status="in_progress")
    make(session, 1, status="pending")
    make(session, 1, status="resolved", assigned_to="bo@acme.io")
    old = make(session, 1, status="closed")
    session.execute(sa.update(Ticket).where(Ticket.ticket_number == old[0]).values(resolved_at=now - timedelta(days=8)))
    make(session, 2, client_id="globex")
    session.commit()
    counts = queues.queue_counts(session, "acme", "ann@acme.io", [
        {"id": "v1", "filters": {"assigned_to": "ann@acme.io", "sort": "-priority"}},
        {"id": "v2", "filters": {"status": "bogus"}},
        {"id": "v3", "filters": {"queue": "unassigned", "q": "Ticket"}},
    ])
    assert counts == {"queues": {"open": 4, "unassigned": 3, "pending": 1, "resolved_recently": 1, "mine": 2},
                      "views": {"v1": 2, "v2": None, "v3": 3}}
    page = operations.list_tickets(session, {"client_id": "acme", "queue": "open", "assigned_to": "ann@acme.io"})
    assert page["total"] == 2


# -- through the RPC, with real events --

@pytest.fixture
def events(amqp_uri, tickets_service):
    with EventCollector(amqp_uri, "tickets") as collector:
        yield collector


def test_a_batch_of_1000_tickets_in_one_call_with_an_event_and_history_each(amqp_uri, session_factory, events):
    with session_factory() as session:
        numbers = make(session, 1000)
    refs = [*numbers[:500], {"ticket": numbers[500], "changes": {"priority": "nope"}}, *numbers[501:]]
    started = time.perf_counter()
    with rpc_proxy(amqp_uri, timeout=120) as rpc:  # the gateway's BULK_RPC_TIMEOUT
        result = rpc.tickets.bulk_update({"tickets": refs, "changes": {"status": "in_progress", "assigned_to": "ann@acme.io"}},
                                         actor="lead@acme.io", client_id="acme")
    elapsed = time.perf_counter() - started
    assert result["changed"] == 999 and result["unchanged"] == 0
    assert [(f["ticket"], f["error"]) for f in result["failed"]] == [(numbers[500], "validation_error")]
    print(f"bulk of 1000: {elapsed:.2f}s")
    assert elapsed < 120, elapsed
    events.wait_for(lambda got: len([e for e in got if e["event_type"] == "ticket.updated"]) >= 999, timeout=30,
                    message="999 ticket.updated events")
    per_ticket = Counter(e["data"]["ticket"]["ticket_number"] for e in events.of_type("ticket.updated"))
    assert len(per_ticket) == 999 and set(per_ticket.values()) == {1} and numbers[500] not in per_ticket
    with session_factory() as session:
        fields = Counter(session.scalars(sa.select(TicketChange.ticket_id).where(TicketChange.action == "updated")))
        assert len(fields) == 999 and set(fields.values()) == {2}  # status and assigned_to, per ticket
        assert session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.status == "open")) == 1
