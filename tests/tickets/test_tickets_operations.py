"""The tickets service's operations against its real PostgreSQL database (no broker)."""
import uuid

import pytest
import sqlalchemy as sa

from services.tickets import operations
from services.tickets.models import OutboxEvent, Ticket
from shared.contracts.exceptions import NotFound, ValidationError


def valid(**overrides):
    return {
        "title": "Printer on fire",
        "description": "It is on fire.",
        "client_id": "acme",
        "customer_name": "Kira",
        "customer_email": "kira@example.com",
        **overrides,
    }


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


def create(session, **overrides):
    ticket, _ = operations.create_ticket(session, valid(**overrides))
    session.commit()
    return operations.get_ticket(session, ticket["id"])


def test_create_numbers_stores_and_records_history_and_event(session):
    ticket = create(session, created_by="agent-1", priority="urgent", category="technical")
    assert ticket.ticket_number == "TKT-00001"
    assert (ticket.status, ticket.priority, ticket.category) == ("open", "urgent", "technical")
    history = operations.get_history(session, "TKT-00001", client_id="acme")
    assert [(h["action"], h["actor"]) for h in history] == [("created", "agent-1")]
    event = session.scalars(sa.select(OutboxEvent)).one()
    assert event.event_type == "ticket.created" and event.published_at is None
    assert event.payload["data"]["ticket"]["ticket_number"] == "TKT-00001"
    assert event.payload["event_id"] == str(event.event_id)
    assert set(event.payload) == {"event_id", "event_type", "occurred_at", "version", "data"}


def test_defaults_apply(session):
    ticket = create(session)
    assert (ticket.status, ticket.priority, ticket.category) == ("open", "medium", "general")
    assert ticket.created_at == ticket.updated_at and ticket.resolved_at is None


def test_fields_are_trimmed_and_blank_optionals_become_null(session):
    ticket = create(session, title="  Spaces  ", customer_name="   ", assigned_to="", customer_email=" k@x.io ")
    assert ticket.title == "Spaces" and ticket.customer_name is None and ticket.assigned_to is None
    assert ticket.customer_email == "k@x.io"
    assert create(session, customer_email="").customer_email is None


@pytest.mark.parametrize(
    "overrides, field, reason",
    [
        ({"title": None}, "title", "Field may not be null."),
        ({"title": "   "}, "title", "Must not be blank."),
        ({"title": "x" * 201}, "title", "Longer than maximum length 200."),
        ({"description": "x" * (10 * 1024 * 1024)}, "description", "Longer than maximum length 20000."),
        ({"status": "bogus"}, "status", "Must be one of: open, in_progress, pending, resolved, closed."),
        ({"priority": "asap"}, "priority", "Must be one of: low, medium, high, urgent."),
        ({"category": "misc"}, "category", "Must be one of: general, technical, billing, account, feature_request, other."),
        ({"customer_email": "not-an-email"}, "customer_email", "Not a valid email address."),
        ({"client_id": 42}, "client_id", "Not a valid string."),
        ({"title": ["a"]}, "title", "Not a valid string."),
        ({"description": "nul\x00byte"}, "description", "Must not contain NUL characters."),
        ({"ticket_number": "TKT-99999"}, "ticket_number", "Unknown field."),
    ],
)
def test_bad_input_names_the_field_and_reason_and_takes_no_number(session, overrides, field, reason):
    with pytest.raises(ValidationError) as error:
        operations.create_ticket(session, valid(**overrides))
    assert error.value.errors[field] == [reason]
    session.rollback()
    assert create(session).ticket_number == "TKT-00001"


def test_missing_required_fields_are_each_named(session):
    with pytest.raises(ValidationError) as error:
        operations.create_ticket(session, {})
    assert set(error.value.errors) == {"title", "description", "client_id"}
    assert all(reasons == ["Missing data for required field."] for reasons in error.value.errors.values())


def test_input_of_the_wrong_shape_is_a_validation_error(session):
    with pytest.raises(ValidationError) as error:
        operations.create_ticket(session, ["not", "a", "dict"])
    assert error.value.errors == {"_schema": ["Invalid input type."]}


def test_a_rolled_back_create_gives_its_number_back(session):
    operations.create_ticket(session, valid())
    session.rollback()
    assert create(session).ticket_number == "TKT-00001"
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 1


def test_get_by_id_or_number_and_not_found(session):
    ticket = create(session)
    assert operations.get_ticket(session, str(ticket.id)).id == ticket.id
    assert operations.get_ticket(session, "tkt-00001", client_id="acme").id == ticket.id
    for ref in ("TKT-00002", str(uuid.uuid4()), "garbage", None):
        with pytest.raises(NotFound):
            operations.get_ticket(session, ref)


def test_another_clients_ticket_is_not_found(session):
    create(session, client_id="acme")
    with pytest.raises(NotFound):
        operations.get_ticket(session, "TKT-00001", client_id="globex")
    with pytest.raises(NotFound):
        operations.update_ticket(session, "TKT-00001", {"status": "closed"}, "x", client_id="globex")
    with pytest.raises(NotFound):
        operations.delete_ticket(session, "TKT-00001", "x", client_id="globex")
    with pytest.raises(NotFound):
        operations.get_history(session, "TKT-00001", client_id="globex")


def test_update_records_each_change_and_one_event(session):
    create(session)
    ticket, diff, event = operations.update_ticket(
        session, "TKT-00001", {"status": "resolved", "priority": "high", "resolution_notes": "Rebooted"}, "agent-7",
        client_id="acme",
    )
    session.commit()
    assert diff == {
        "status": {"from": "open", "to": "resolved"},
        "priority": {"from": "medium", "to": "high"},
        "resolution_notes": {"from": None, "to": "Rebooted"},
    }
    assert ticket["resolved_at"] == ticket["updated_at"] and ticket["status"] == "resolved"
    assert event.event_type == "ticket.updated"
    assert event.payload["data"]["changes"] == diff
    assert event.payload["data"]["actor"] == "agent-7"
    assert event.payload["data"]["ticket"]["status"] == "resolved"
    history = operations.get_history(session, "TKT-00001", client_id="acme")
    assert [(h["field"], h["old_value"], h["new_value"], h["actor"]) for h in history[1:]] == [
        ("status", "open", "resolved", "agent-7"),
        ("priority", "medium", "high", "agent-7"),
        ("resolution_notes", None, "Rebooted", "agent-7"),
    ]


def test_an_update_that_changes_nothing_records_nothing(session):
    create(session)
    _, diff, event = operations.update_ticket(session, "TKT-00001", {"status": "open"}, "agent-7", client_id="acme")
    session.commit()
    assert diff == {} and event is None
    assert len(operations.get_history(session, "TKT-00001", client_id="acme")) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 1


@pytest.mark.parametrize(
    "changes, field, reason",
    [
        ({"status": "done"}, "status", "Must be one of: open, in_progress, pending, resolved, closed."),
        ({"title": ""}, "title", "Must not be blank."),
        ({"status": None}, "status", "Field may not be null."),
        ({"client_id": "globex"}, "client_id", "Unknown field."),
        ({"ticket_number": "TKT-00009"}, "ticket_number", "Unknown field."),
    ],
)
def test_bad_updates_are_rejected_and_change_nothing(session, changes, field, reason):
    create(session)
    with pytest.raises(ValidationError) as error:
        operations.update_ticket(session, "TKT-00001", changes, "agent-7", client_id="acme")
    assert error.value.errors[field] == [reason]
    session.rollback()
    ticket = operations.get_ticket(session, "TKT-00001", client_id="acme")
    assert (ticket.status, ticket.title, ticket.client_id) == ("open", "Printer on fire", "acme")


def test_delete_hides_the_ticket_but_keeps_its_number(session):
    create(session)
    event = operations.delete_ticket(session, "TKT-00001", "agent-7", client_id="acme")
    session.commit()
    assert event.event_type == "ticket.deleted"
    with pytest.raises(NotFound):
        operations.get_ticket(session, "TKT-00001", client_id="acme")
    assert operations.list_tickets(session, {"client_id": "acme"})["total"] == 0
    assert create(session).ticket_number == "TKT-00002"


@pytest.fixture
def many(session):
    rows = [
        dict(title="Login fails", status="open", priority="high", category="account", assigned_to="ann"),
        dict(title="Invoice wrong", status="pending", priority="low", category="billing", assigned_to="bob"),
        dict(title="App crashes", status="open", priority="urgent", category="technical", assigned_to="ann",
             customer_name="Zed Zulu", customer_email="zed@zulu.io"),
        dict(title="Feature: dark mode", status="resolved", priority="medium", category="feature_request"),
        dict(title="100% CPU", status="in_progress", priority="high", category="technical", description="50_50 split"),
    ]
    for row in rows:
        create(session, **row)
    create(session, client_id="globex", title="Login fails at globex")
    return rows


def numbers(page):
    return [item["ticket_number"] for item in page["items"]]


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, ["TKT-00005", "TKT-00004", "TKT-00003", "TKT-00002", "TKT-00001"]),
        ({"status": "open"}, ["TKT-00003", "TKT-00001"]),
        ({"priority": "high"}, ["TKT-00005", "TKT-00001"]),
        ({"category": "technical"}, ["TKT-00005", "TKT-00003"]),
        ({"assigned_to": "ann"}, ["TKT-00003", "TKT-00001"]),
        ({"status": "open", "priority": "urgent"}, ["TKT-00003"]),
        ({"q": "login"}, ["TKT-00001"]),
        ({"q": "tkt-00002"}, ["TKT-00002"]),
        ({"q": "ZULU"}, ["TKT-00003"]),
        ({"q": "100%"}, ["TKT-00005"]),
        ({"q": "split 50_50"}, ["TKT-00005"]),
        ({"q": "%"}, []),
        ({"q": "nothing like this"}, []),
        ({"sort": "created_at"}, ["TKT-00001", "TKT-00002", "TKT-00003", "TKT-00004", "TKT-00005"]),
        ({"sort": "-priority"}, ["TKT-00003", "TKT-00005", "TKT-00001", "TKT-00004", "TKT-00002"]),
        ({"sort": "status"}, ["TKT-00001", "TKT-00003", "TKT-00005", "TKT-00002", "TKT-00004"]),
    ],
)
def test_list_filters_search_and_sort(session, many, filters, expected):
    page = operations.list_tickets(session, {"client_id": "acme", **filters})
    assert numbers(page) == expected
    assert page["total"] == len(expected)


def test_list_pages(session, many):
    first = operations.list_tickets(session, {"client_id": "acme", "per_page": 2})
    third = operations.list_tickets(session, {"client_id": "acme", "per_page": 2, "page": 3})
    beyond = operations.list_tickets(session, {"client_id": "acme", "per_page": 2, "page": 9})
    assert (numbers(first), first["total"], first["page"], first["per_page"]) == (["TKT-00005", "TKT-00004"], 5, 1, 2)
    assert numbers(third) == ["TKT-00001"]
    assert numbers(beyond) == [] and beyond["total"] == 5


def test_list_only_shows_the_clients_own_tickets(session, many):
    page = operations.list_tickets(session, {"client_id": "globex"})
    assert numbers(page) == ["TKT-00001"]  # globex numbers its own tickets


@pytest.mark.parametrize(
    "filters, field",
    [
        ({}, "client_id"),
        ({"client_id": "acme", "status": "bogus"}, "status"),
        ({"client_id": "acme", "per_page": 101}, "per_page"),
        ({"client_id": "acme", "page": 0}, "page"),
        ({"client_id": "acme", "page": "two"}, "page"),
        ({"client_id": "acme", "sort": "password"}, "sort"),
        ({"client_id": "acme", "q": "x" * 201}, "q"),
    ],
)
def test_bad_list_filters_are_validation_errors(session, filters, field):
    with pytest.raises(ValidationError) as error:
        operations.list_tickets(session, filters)
    assert field in error.value.errors


def test_outbox_row_commits_with_the_ticket_or_not_at_all(session):
    operations.create_ticket(session, valid())
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 0


def test_export_pages_through_every_clients_live_tickets_with_history(session):
    create(session, client_id="acme")
    create(session, client_id="globex")
    create(session, client_id="acme")
    create(session, client_id="initech")
    operations.update_ticket(session, "TKT-00002", {"status": "closed"}, "agent-1", client_id="acme")
    operations.delete_ticket(session, "TKT-00001", "agent-1", client_id="initech")
    session.commit()
    first = operations.export_tickets(session, after_number=0, limit=2)
    assert [(t["client_id"], t["ticket_number"]) for t in first["items"]] == [("acme", "TKT-00001"), ("acme", "TKT-00002")]
    assert (first["next_client"], first["next_after"]) == ("acme", 2)
    # Both clients have a TKT-00001: the position is (client, number), so globex's is not skipped.
    rest = operations.export_tickets(session, after_number=2, after_client="acme", limit=5)
    assert [(t["client_id"], t["ticket_number"]) for t in rest["items"]] == [("globex", "TKT-00001")]
    assert rest["next_after"] is None and rest["next_client"] is None
    assert [(h["action"], h["field"]) for h in first["items"][1]["history"]] == [("created", None), ("updated", "status")]
    with pytest.raises(ValidationError):
        operations.export_tickets(session, after_number="zero")


def test_the_same_create_delivered_twice_makes_one_ticket(session):
    first, event = operations.create_ticket(session, valid(), idempotency_key="req-1")
    session.commit()
    again, no_event = operations.create_ticket(session, valid(), idempotency_key="req-1")
    other_client, _ = operations.create_ticket(session, valid(client_id="globex"), idempotency_key="req-1")
    session.commit()
    assert again == first and event is not None and no_event is None
    assert other_client["ticket_number"] == "TKT-00001" and other_client["id"] != first["id"]  # keys are per client
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 2
    with pytest.raises(ValidationError) as error:
        operations.create_ticket(session, valid(), idempotency_key="k" * 101)
    assert error.value.errors == {"idempotency_key": ["Longer than maximum length 100."]}
