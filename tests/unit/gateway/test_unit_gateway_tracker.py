"""The public tracker's rules without Redis: what a customer may see of a ticket, the wording and order
of its timeline, what the projector writes for each event, and the tracker's pages and JSON answers.

The read model's Lua scripts are the one thing not run here (tests/gateway runs them on Redis): a
client of our own records each script call and answers what the test sets, in the scripts' reply format.
"""
import json
from datetime import datetime, timedelta

import pytest

from services.tracker_gateway.projector import read_model
from services.tracker_gateway.projector.read_model import (
    MALFORMED_PREFIX,
    TrackerView,
    describe,
    entries_from_changes,
    entries_from_history,
    normalize_number,
    public_doc,
    timeline_entry,
)
from services.tracker_gateway.public import tracker
from tests.fixtures.notifier import ticket_envelope, ticket_payload
from tests.unit.gateway.test_unit_gateway_rpc import FakeBroker, pool_of

CREATED = "2026-11-29T14:03:00+00:00"
EMAIL = "Kira@Example.com"
INTERNAL = {"id": "5f0c...", "client_id": "acme", "customer_name": "Kira", "customer_email": EMAIL,
            "created_by": "agent-1", "assigned_to": "agent-2", "resolution_notes": "Replaced the fuser (internal)",
            "conversation_id": "c-1"}


class ScriptedRedis:
    """Runs no script: each call of a registered script is recorded and answered with `replies[source]`."""

    def __init__(self):
        self.calls = []
        self.replies = {}

    def register_script(self, source):
        def run(keys, args):
            self.calls.append((source, list(keys), list(args)))
            return self.replies.get(source)
        return run

    def of(self, source):
        return [(keys, args) for script, keys, args in self.calls if script == source]


def ticket(**overrides):
    return ticket_payload(**{**INTERNAL, "ticket_number": "TKT-00042", "title": "Printer on fire",
                             "category": "feature_request", "created_at": CREATED, "updated_at": CREATED,
                             **overrides})


def later(minutes):
    return (datetime.fromisoformat(CREATED) + timedelta(minutes=minutes)).isoformat()


# -- what a customer sees --

def test_a_customer_sees_only_the_public_fields():
    doc = public_doc(ticket())
    assert set(doc) == set(read_model.PUBLIC_FIELDS)
    assert set(doc) >= {"ticket_number", "title", "description", "status", "priority", "category"}
    assert not set(doc) & set(INTERNAL)


def test_times_are_shown_in_utc_whatever_zone_they_came_in():
    doc = public_doc(ticket(created_at="2026-11-29T16:03:00+02:00", updated_at="2026-11-29T14:03:00",
                            resolved_at=None))
    assert doc["created_at"] == doc["updated_at"] == "2026-11-29T14:03:00+00:00"
    assert doc["resolved_at"] is None and doc["closed_at"] is None


@pytest.mark.parametrize("entry, text", [
    (timeline_entry("created", CREATED), "Ticket created"),
    (timeline_entry("status", CREATED, "open", "in_progress"), "Status changed to in progress"),
    (timeline_entry("status", CREATED, "in_progress", "pending"), "Status changed to pending"),
    (timeline_entry("status", CREATED, "pending", "open"), "Status changed to open"),
    (timeline_entry("status", CREATED, "open", "resolved"), "Ticket resolved"),
    (timeline_entry("status", CREATED, "resolved", "closed"), "Ticket closed"),
    (timeline_entry("priority", CREATED, "medium", "urgent"), "Priority changed to urgent"),
])
def test_the_wording_of_each_timeline_entry(entry, text):
    assert describe(entry) == text


def test_only_changes_a_customer_is_told_make_the_timeline():
    changes = {"title": {"from": "a", "to": "b"}, "status": {"from": "open", "to": "pending"},
               "resolution_notes": {"from": None, "to": "internal"}, "assigned_to": {"from": None, "to": "ann"},
               "priority": {"from": "low", "to": "high"}}
    assert entries_from_changes(later(5), changes) == [
        {"at": later(5), "kind": "priority", "from": "low", "to": "high"},
        {"at": later(5), "kind": "status", "from": "open", "to": "pending"},
        {"at": later(5), "kind": "title", "from": "a", "to": "b"},
    ]
    assert entries_from_changes(later(5), {"description": {"from": "a", "to": "b"}}) == []


def test_the_history_gives_the_same_entries_as_the_events_so_a_backfill_adds_nothing_twice():
    history = [
        {"action": "created", "at": "2026-11-29T16:03:00+02:00"},
        {"action": "updated", "field": "status", "old_value": "open", "new_value": "resolved", "at": later(9)},
        {"action": "updated", "field": "resolution_notes", "old_value": None, "new_value": "x", "at": later(9)},
        {"action": "updated", "field": "priority", "old_value": "medium", "new_value": "low", "at": later(10)},
        {"action": "deleted", "at": later(11)},
    ]
    from_events = [timeline_entry("created", CREATED),
                   *entries_from_changes(later(9), {"status": {"from": "open", "to": "resolved"}}),
                   *entries_from_changes(later(10), {"priority": {"from": "medium", "to": "low"}})]
    assert entries_from_history(history) == from_events


@pytest.mark.parametrize("typed, number", [
    ("TKT-00042", "TKT-00042"), ("tkt-42", "TKT-00042"), (" TKT-00042 ", "TKT-00042"), ("42", "TKT-00042"),
    ("tkt00042", "TKT-00042"), ("123456", "TKT-123456"), ("TKT 42", "TKT-00042"),
    ("TKT-", None), ("TKT-4-2", None), ("", None), ("x" * 64, None), ("1" * 13, None), (None, None),
])
def test_numbers_as_customers_type_them(typed, number):
    """A malformed number reads a key no ticket has, of its own (one per input: no shared counter)."""
    normalized = normalize_number(typed)
    if number is not None:
        assert normalized == number
    else:
        assert normalized.startswith(MALFORMED_PREFIX) and normalized == normalize_number(typed)


def test_each_malformed_input_has_a_key_of_its_own():
    assert len({normalize_number(text) for text in ("junk-1", "junk-2", "TKT-", "")}) == 4


# -- what the projector writes --

@pytest.fixture
def store():
    return ScriptedRedis()


@pytest.fixture
def view(store):
    return TrackerView(store, "test:", "digest-key")


def test_the_email_is_kept_as_a_keyed_digest_of_its_normal_form(view):
    digest = view.email_digest(EMAIL)
    assert digest == view.email_digest("  kira@example.com ") and len(digest) == 64
    assert "kira" not in digest and digest != TrackerView(ScriptedRedis(), "test:", "other-key").email_digest(EMAIL)


def test_a_created_event_writes_the_public_doc_the_digest_and_a_created_entry(view, store):
    view.apply_event(ticket_envelope("ticket.created", ticket()))
    ((keys, args),) = store.of(read_model._APPLY)
    # Per client and number; the {number} hash tag keeps one number's keys on one Redis Cluster slot.
    assert keys == ["test:trk:t:{TKT-00042}:acme", "test:trk:tl:{TKT-00042}:acme", "test:trk:n:{TKT-00042}"]
    mode, version, doc, digest, client, score, member = args
    assert (mode, version, digest, client) == ("upsert", read_model.micros(CREATED), view.email_digest(EMAIL), "acme")
    assert json.loads(doc) == public_doc(ticket()) and EMAIL.lower() not in doc.lower()
    assert (score, json.loads(member)) == (read_model.micros(CREATED), timeline_entry("created", CREATED))


def test_an_update_adds_only_its_visible_changes_and_a_notes_only_update_no_entry(view, store):
    changed = ticket(status="resolved", updated_at=later(5))
    view.apply_event(ticket_envelope("ticket.updated", changed, changes={
        "status": {"from": "open", "to": "resolved"}, "resolution_notes": {"from": None, "to": "internal"}}))
    view.apply_event(ticket_envelope("ticket.updated", ticket(updated_at=later(6)),
                                     changes={"resolution_notes": {"from": "a", "to": "b"}}))
    (_, first), (_, second) = store.of(read_model._APPLY)
    assert [json.loads(member) for member in first[6::2]] == [
        {"at": later(5), "kind": "status", "from": "open", "to": "resolved"}]
    assert len(second) == 5  # the snapshot, no timeline entry


def test_a_ticket_without_an_email_can_never_be_looked_up(view, store):
    view.apply_event(ticket_envelope("ticket.created", ticket(customer_email=None)))
    assert store.of(read_model._APPLY)[0][1][3] == "-"  # never equal to a hex digest


def test_a_deleted_event_leaves_a_tombstone(view, store):
    view.apply_event(ticket_envelope("ticket.deleted", ticket(updated_at=later(7))))
    assert store.of(read_model._APPLY)[0][1] == ["delete", read_model.micros(later(7)), "", "", "acme"]


# -- what the tracker answers --

def hit_for(view, store, *envelopes):
    """Apply events, then make every lookup find what they wrote (the reply the Lua scripts give)."""
    for envelope in envelopes:
        view.apply_event(envelope)
    writes = store.of(read_model._APPLY)
    # A sorted set: by score, then by member for equal scores, as ZRANGE gives them.
    members = sorted({member for _, args in writes for member in args[6::2]},
                     key=lambda member: (read_model.micros(json.loads(member)["at"]), member))
    reply = [b"hit", [[b"acme", writes[-1][1][2].encode(), [member.encode() for member in members]]]]
    store.replies[read_model._LOOKUP] = store.replies[read_model._READ] = reply


@pytest.fixture
def site(offline_app, store, view):
    offline_app.extensions["tracker_view"] = view
    # A match's page also shows the ticket's conversation (public/thread_view.py): none here.
    offline_app.extensions["rpc_pool"] = pool_of(FakeBroker({("tickets", "list_messages"): []}))
    store.replies = {read_model._LOOKUP: [b"miss"], read_model._READ: [b"miss"], read_model._FAIL: 0}
    return offline_app.test_client()


def a_ticket_worked_on(view, store):
    hit_for(view, store,
            ticket_envelope("ticket.created", ticket()),
            ticket_envelope("ticket.updated", ticket(status="in_progress", priority="high", updated_at=later(30)),
                            changes={"status": {"from": "open", "to": "in_progress"},
                                     "priority": {"from": "medium", "to": "high"}}),
            ticket_envelope("ticket.updated", ticket(status="in_progress", priority="high", updated_at=later(95),
                                                     resolution_notes="internal"),
                            changes={"resolution_notes": {"from": None, "to": "internal"}}))


def test_the_ticket_page_shows_the_public_fields_and_the_timeline_newest_first(site, view, store):
    a_ticket_worked_on(view, store)
    response = site.post("/track-ticket", data={"ticket": "tkt-42", "email": EMAIL})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for shown in ("TKT-00042", "Printer on fire", "In Progress", "High", "Feature request", "29 Nov 2026, 14:03 UTC",
                  "29 Nov 2026, 15:38 UTC"):
        assert shown in page, shown
    for hidden in ("Replaced the fuser", "agent-2", "kira@example.com", "Kira@Example.com", "acme"):
        assert hidden not in page, hidden
    order = [page.index(text) for text in ("Status changed to in progress", "Priority changed to high", "Ticket created")]
    assert order == sorted(order)
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"


def test_the_json_answer_carries_the_timeline_oldest_first_with_its_wording(site, view, store):
    a_ticket_worked_on(view, store)
    body = site.get("/api/public/track", query_string={"ticket": "TKT-00042", "email": EMAIL}).get_json()
    assert {key: body[key] for key in ("ticket_number", "status", "priority")} == {
        "ticket_number": "TKT-00042", "status": "in_progress", "priority": "high"}
    assert [entry["text"] for entry in body["timeline"]] == [
        "Ticket created", "Priority changed to high", "Status changed to in progress"]
    assert not set(body) & set(INTERNAL)


def test_every_miss_is_the_same_answer_and_the_same_work(site, store):
    answers = {site.post("/track-ticket", data={"ticket": typed, "email": EMAIL}).get_data()
               for typed in ("TKT-00042", "TKT-99999", "not a number")}
    assert len(answers) == 1 and tracker.NOT_FOUND_MESSAGE.encode() in answers.pop()
    numbers = [keys[0] for keys, _ in store.of(read_model._LOOKUP)]
    assert numbers[:2] == ["test:trk:n:{TKT-00042}", "test:trk:n:{TKT-99999}"]
    assert numbers[2] == f"test:trk:n:{{{normalize_number('not a number')}}}" and MALFORMED_PREFIX in numbers[2]
    response = site.get("/api/public/track", query_string={"ticket": "TKT-1", "email": EMAIL})
    assert response.status_code == 404 and response.get_json()["message"] == tracker.NOT_FOUND_MESSAGE


def test_lookups_are_counted_per_address_with_the_configured_limits(site, store, offline_app):
    site.post("/track-ticket", data={"ticket": "42", "email": EMAIL}, headers={"X-Forwarded-For": "203.0.113.9"},
              environ_base={"REMOTE_ADDR": "198.51.100.7"})
    keys, args = store.of(read_model._LOOKUP)[0]
    assert keys[1:] == ["test:trk:fail:ip:198.51.100.7", "test:trk:fail:n:TKT-00042"]  # no proxy trusted
    config = offline_app.config
    assert args[1:] == [config["TRACKER_FAILURES_PER_IP"], config["TRACKER_IP_WINDOW_SECONDS"],
                        config["TRACKER_FAILURES_PER_TICKET"], config["TRACKER_TICKET_WINDOW_SECONDS"],
                        "test:", "TKT-00042"]


@pytest.mark.parametrize("pttl, seconds", [(1, 1), (1000, 1), (1001, 2), (59_500, 60)])
def test_past_the_limit_the_answer_is_429_with_whole_seconds_to_wait(site, store, pttl, seconds):
    store.replies[read_model._LOOKUP] = [b"limited", pttl]
    page = site.post("/track-ticket", data={"ticket": "42", "email": EMAIL})
    api = site.get("/api/public/track", query_string={"ticket": "42", "email": EMAIL})
    assert page.status_code == api.status_code == 429
    assert page.headers["Retry-After"] == api.headers["Retry-After"] == str(seconds)


@pytest.mark.parametrize("form", [{}, {"ticket": "42"}, {"email": EMAIL}, {"ticket": "", "email": EMAIL},
                                  {"ticket": "4" * 65, "email": EMAIL}])
def test_an_incomplete_form_is_422_and_looks_nothing_up(site, store, form):
    response = site.post("/track-ticket", data=form)
    assert response.status_code == 422 and "Enter your ticket number" in response.get_data(as_text=True)
    assert store.calls == []


def test_the_json_lookup_names_the_missing_field(site):
    response = site.get("/api/public/track", query_string={"ticket": "42"})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"email"}


def test_a_signed_link_shows_the_ticket_without_touching_the_failure_counters(site, view, store, offline_app):
    a_ticket_worked_on(view, store)
    token = offline_app.extensions["tracking_links"].make_token("TKT-00042", EMAIL)
    response = site.get(f"/track-ticket/{token}")
    assert response.status_code == 200 and "Printer on fire" in response.get_data(as_text=True)
    ((keys, args),) = store.of(read_model._READ)
    # A link made before numbers were per client names none: every client's match is read.
    assert keys == ["test:trk:n:{TKT-00042}"] and args == [view.email_digest(EMAIL), "test:", "TKT-00042", ""]
    assert store.of(read_model._LOOKUP) == store.of(read_model._FAIL) == []
    client_link = offline_app.extensions["tracking_links"].make_token("TKT-00042", EMAIL, "acme")
    assert site.get(f"/track-ticket/{client_link}").status_code == 200
    assert store.of(read_model._READ)[1][1][-1] == "acme"  # a link that names its client reads only that one


def test_a_bad_link_is_404_and_counted_then_429_past_the_limit(site, store, offline_app):
    response = site.get("/track-ticket/not-a-token")
    assert response.status_code == 404 and tracker.BAD_LINK_MESSAGE in response.get_data(as_text=True)
    assert len(store.of(read_model._FAIL)) == 1 and store.of(read_model._READ) == []
    store.replies[read_model._FAIL] = 2500
    response = site.get("/track-ticket/not-a-token")
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_a_valid_link_to_a_ticket_gone_since_is_the_bad_link_page(site, offline_app):
    token = offline_app.extensions["tracking_links"].make_token("TKT-00042", EMAIL)
    response = site.get(f"/track-ticket/{token}")
    assert response.status_code == 404 and tracker.BAD_LINK_MESSAGE in response.get_data(as_text=True)
