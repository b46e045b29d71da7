"""The public tracker end to end: tickets made through the API reach the Redis read model through
the projector's events, and customers look them up by number and e-mail or by signed link."""
import base64
import json
import logging
import re
import time

import pytest

from services.tracker_gateway.core import health
from services.tracker_gateway.projector.read_model import TrackerView
from shared.contracts.tracking_links import TrackingLinks
from shared.testing import TRACKING_LINKS, wait_for

API = "/api/entities/ticket"
TRACK = "/api/public/track"
EMAIL = "Kira.Customer@Example.com"


@pytest.fixture
def acme(tenants, auth_headers, tickets_service, tracker_projector):
    return auth_headers(tenants[0])


def create(http, headers, **fields):
    body = {"title": "Printer on fire", "description": "It is <b>on</b> fire.", "customer_email": EMAIL,
            "customer_name": "Kira", "resolution_notes": "internal: customer is grumpy", "assigned_to": "ann", **fields}
    response = http.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def track(http, ticket, email, **headers):
    return http.get(TRACK, query_string={"ticket": ticket, "email": email}, headers=headers)


def tracked(http, ticket, email=EMAIL, predicate=lambda body: True):
    """Wait until the projector has the ticket (and `predicate` holds): the read model is eventual. It waits
    on the read model itself first: a lookup before the ticket is there is a failure the limits count, and a
    slow projector would then trip the tests' tight limits before they begin."""
    view = http.application.extensions["tracker_view"]
    wait_for(lambda: view.redis.exists(view.clients_key(ticket)), timeout=10, message=f"{ticket} projected")

    def found():
        response = track(http, ticket, email)
        return response.get_json() if response.status_code == 200 and predicate(response.get_json()) else None
    return wait_for(found, timeout=10, message=f"{ticket} in the tracker")


def test_the_right_email_shows_what_the_customer_may_see(http, acme):
    ticket = create(http, acme, priority="high", category="billing")
    body = tracked(http, ticket["ticket_number"])
    assert set(body) == {"ticket_number", "title", "description", "status", "priority", "category", "created_at",
                         "updated_at", "resolved_at", "closed_at", "rating", "rated_at", "timeline", "client_name",
                         "matches"}
    assert body["client_name"] == "Acme" and [match["ticket_number"] for match in body["matches"]] == ["TKT-00001"]
    assert (body["ticket_number"], body["title"], body["status"], body["priority"], body["category"]) == (
        "TKT-00001", "Printer on fire", "open", "high", "billing")
    assert body["description"] == "It is <b>on</b> fire."
    assert [entry["kind"] for entry in body["timeline"]] == ["created"]
    raw = json.dumps(body)
    for secret in ("grumpy", "ann", ticket["id"], ticket["client_id"], ticket["created_by"], EMAIL.lower()):
        assert secret not in raw


@pytest.mark.parametrize("number, email", [
    ("tkt-00001", EMAIL), ("  TKT-00001 ", f"  {EMAIL.upper()}  "), ("TKT-1", EMAIL.lower()), ("1", EMAIL),
    ("TKT 00001", EMAIL)])
def test_number_and_email_are_compared_leniently(http, acme, number, email):
    create(http, acme)
    tracked(http, "TKT-00001")
    response = track(http, number, email)
    assert response.status_code == 200 and response.get_json()["ticket_number"] == "TKT-00001"


def test_wrong_email_unknown_and_malformed_numbers_answer_identically(http, acme):
    create(http, acme)
    tracked(http, "TKT-00001")
    misses = [track(http, "TKT-00001", "someone@else.com"), track(http, "TKT-00077", EMAIL),
              track(http, "TKT-<script>", EMAIL), track(http, "'; DROP TABLE tickets", EMAIL)]
    assert {r.status_code for r in misses} == {404}
    assert len({r.data for r in misses}) == 1
    # Every header is the same but the request's own id (fresh per request, telling nothing).
    assert len({tuple(sorted((k, v) for k, v in r.headers.items() if k != "X-Request-ID")) for r in misses}) == 1
    forms = [http.post("/track-ticket", data={"ticket": t, "email": e}) for t, e in
             [("TKT-00001", "someone@else.com"), ("TKT-00077", EMAIL), ("TKT-<script>", EMAIL)]]
    assert {r.status_code for r in forms} == {404}
    assert len({r.data for r in forms}) == 1
    assert b"No ticket matches" in forms[0].data and b"&lt;script&gt;" not in forms[0].data


def test_a_ticket_without_customer_email_cannot_be_tracked(http, acme):
    create(http, acme, customer_email=None)
    create(http, acme)
    tracked(http, "TKT-00002")
    assert track(http, "TKT-00001", "").status_code == 422
    assert track(http, "TKT-00001", "-").status_code == 404


def test_the_timeline_shows_what_the_customer_is_told_and_no_assignment(http, acme):
    ticket = create(http, acme)
    ref = f"{API}/{ticket['id']}"
    http.patch(ref, json={"status": "in_progress"}, headers=acme)
    http.patch(ref, json={"priority": "urgent", "title": "Printer still on fire", "assigned_to": "ann@acme.example"},
               headers=acme)
    http.patch(ref, json={"category": "billing", "description": "edited by an agent"}, headers=acme)
    http.patch(ref, json={"status": "resolved", "resolution_notes": "we put it out"}, headers=acme)
    body = tracked(http, "TKT-00001", predicate=lambda b: b["status"] == "resolved")
    assert body["title"] == "Printer still on fire" and body["priority"] == "urgent" and body["resolved_at"]
    assert [entry["text"] for entry in body["timeline"]] == [
        "Ticket created", "Status changed to in progress",
        # One update's changes share a time (and sort by their stored form).
        "Title changed to “Printer still on fire”", "Priority changed to urgent",
        "Category changed to billing", "Ticket resolved"]
    assert "put it out" not in json.dumps(body) and "ann@acme.example" not in json.dumps(body)


def test_the_html_result_escapes_and_colour_codes(http, acme):
    create(http, acme, title="<script>alert(1)</script>", priority="urgent")
    tracked(http, "TKT-00001")
    response = http.post("/track-ticket", data={"ticket": "TKT-00001", "email": EMAIL})
    assert response.status_code == 200
    page = response.data.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'class="badge status-open"' in page and 'class="badge priority-urgent"' in page
    assert "Ticket created" in page and "grumpy" not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_a_deleted_ticket_disappears_from_the_tracker(http, acme):
    ticket = create(http, acme)
    tracked(http, "TKT-00001")
    assert http.delete(f"{API}/{ticket['id']}", headers=acme).status_code == 204
    wait_for(lambda: track(http, "TKT-00001", EMAIL).status_code == 404, timeout=10, message="the ticket to go")


@pytest.fixture
def tight_limits(gateway_settings):
    # Windows of a few seconds: long enough that a loaded machine cannot outrun them between the
    # failures that trip a limit, short enough that waiting for recovery stays quick.
    gateway_settings.update(TRACKER_FAILURES_PER_IP=3, TRACKER_IP_WINDOW_SECONDS=3,
                            TRACKER_FAILURES_PER_TICKET=4, TRACKER_TICKET_WINDOW_SECONDS=3, TRUSTED_PROXIES=1)


def test_failed_lookups_per_address_trip_a_429_then_recover(tight_limits, http, acme):
    create(http, acme)
    tracked(http, "TKT-00001")
    ip = {"X-Forwarded-For": "203.0.113.9"}
    for number in ("TKT-00050", "TKT-00051", "junk"):
        assert track(http, number, EMAIL, **ip).status_code == 404
    limited = track(http, "TKT-00001", EMAIL, **ip)  # past the limit even the right answer waits
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Try again in" in limited.get_json()["message"] and limited.get_json()["error"] == "too_many_requests"
    page = http.post("/track-ticket", data={"ticket": "TKT-00001", "email": EMAIL}, headers=ip)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert re.search(r"Try again in \d+ seconds?", page.get_data(as_text=True))
    assert track(http, "TKT-00001", EMAIL, **{"X-Forwarded-For": "203.0.113.10"}).status_code == 200  # others not
    wait_for(lambda: track(http, "TKT-00001", EMAIL, **ip).status_code == 200, timeout=10, message="the window to pass")


@pytest.fixture
def one_failure_in_4_minutes(gateway_settings):
    gateway_settings.update(TRACKER_FAILURES_PER_IP=1, TRACKER_IP_WINDOW_SECONDS=240, TRUSTED_PROXIES=1)


def test_the_429_page_says_in_minutes_when_to_try_again(one_failure_in_4_minutes, http, acme):
    ip = {"X-Forwarded-For": "203.0.113.77"}
    assert http.post("/track-ticket", data={"ticket": "TKT-00077", "email": EMAIL}, headers=ip).status_code == 404
    page = http.post("/track-ticket", data={"ticket": "TKT-00078", "email": EMAIL}, headers=ip)
    assert page.status_code == 429 and 230 <= int(page.headers["Retry-After"]) <= 240
    assert "Try again in 4 minutes" in page.get_data(as_text=True)
    assert track(http, "TKT-00079", EMAIL, **ip).get_json()["message"] == "Too many attempts. Try again in 4 minutes."


def test_failed_lookups_per_ticket_trip_a_429_across_addresses(tight_limits, http, acme):
    create(http, acme)
    tracked(http, "TKT-00001")
    for n in range(4):
        assert track(http, "TKT-00001", f"guess{n}@x.io", **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code == 404
    limited = track(http, "TKT-00001", EMAIL, **{"X-Forwarded-For": "198.51.100.99"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    wait_for(lambda: track(http, "TKT-00001", EMAIL).status_code == 200, timeout=10, message="the window to pass")


def test_malformed_numbers_do_not_share_one_failure_counter(tight_limits, http, acme):
    """Each malformed input is counted apart, as each unknown number is: past the per-number limit of
    one of them, another malformed input and an unknown number still answer alike (404)."""
    create(http, acme)
    tracked(http, "TKT-00001")
    for n in range(6):  # six addresses, so that no address reaches its own limit
        assert track(http, f"junk-{n}", EMAIL, **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code == 404
    fresh = {"X-Forwarded-For": "198.51.100.200"}
    malformed, unknown = track(http, "junk-other", EMAIL, **fresh), track(http, "TKT-99999", EMAIL, **fresh)
    assert malformed.status_code == unknown.status_code == 404 and malformed.data == unknown.data


def test_limits_are_shared_between_gateway_instances(tight_limits, http, acme, gateway_settings):
    from services.tracker_gateway.app import close_app, create_app

    create(http, acme)
    tracked(http, "TKT-00001")
    other = create_app(gateway_settings)  # a second gateway on the same Redis
    try:
        second = other.test_client()
        ip = {"X-Forwarded-For": "192.0.2.1"}
        assert track(http, "TKT-00009", EMAIL, **ip).status_code == 404
        assert track(second, "TKT-00009", EMAIL, **ip).status_code == 404
        assert track(http, "TKT-00009", EMAIL, **ip).status_code == 404
        assert track(second, "TKT-00001", EMAIL, **ip).status_code == 429
    finally:
        close_app(other)


def test_the_signed_link_opens_the_ticket(http, acme):
    create(http, acme)
    tracked(http, "TKT-00001")
    response = http.get(f"/track-ticket/{TRACKING_LINKS.make_token('TKT-00001', EMAIL)}")
    assert response.status_code == 200
    assert b"Printer on fire" in response.data
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.fixture
def both(tenants, auth_headers, tickets_service, tracker_projector):
    return auth_headers(tenants[0]), auth_headers(tenants[1])


def test_the_same_number_and_email_at_two_clients_shows_both_tickets_with_their_clients_names(http, both, tenants):
    acme, globex = both
    create(http, acme, title="Printer on fire")
    create(http, globex, title="Invoice twice")  # globex numbers its own: TKT-00001 too
    create(http, globex, title="Someone else's", customer_email="other@example.com")
    body = tracked(http, "TKT-00001", predicate=lambda got: len(got["matches"]) == 2)
    assert sorted((m["client_name"], m["title"]) for m in body["matches"]) == [
        ("Acme", "Printer on fire"), ("Globex", "Invoice twice")]
    assert body["ticket_number"] == "TKT-00001" and all("client_id" not in m for m in body["matches"])
    page = http.post("/track-ticket", data={"ticket": "tkt-1", "email": EMAIL})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 tickets match" in html
    for shown in ("Acme", "Globex", "Printer on fire", "Invoice twice"):
        assert shown in html
    assert "Someone else" not in html
    # Each choice is a signed link naming its client: it opens that ticket and its conversation alone.
    links = re.findall(r'href="(/track-ticket/[^"]+)"', html)
    opened = {}
    for link in links:
        found = TRACKING_LINKS.read_link(link.removeprefix("/track-ticket/"))
        response = http.get(link)
        assert response.status_code == 200
        opened[found[2]] = response.get_data(as_text=True)
    assert set(opened) == {tenants[0].client_id, tenants[1].client_id}
    assert "Printer on fire" in opened[tenants[0].client_id] and "Invoice twice" not in opened[tenants[0].client_id]
    assert "Invoice twice" in opened[tenants[1].client_id] and "Globex" in opened[tenants[1].client_id]
    # A link made before numbers were per client (no client in it) shows the same choice.
    older = http.get(f"/track-ticket/{TRACKING_LINKS.make_token('TKT-00001', EMAIL)}")
    assert older.status_code == 200 and "2 tickets match" in older.get_data(as_text=True)
    # Another address finds only its own ticket.
    assert [m["title"] for m in track(http, "TKT-00002", "other@example.com").get_json()["matches"]] == ["Someone else's"]


def test_guesses_at_a_number_do_not_lock_its_signed_link(tight_limits, http, acme):
    create(http, acme)
    tracked(http, "TKT-00001")
    ip = {"X-Forwarded-For": "198.51.100.7"}
    for n in range(4):
        assert track(http, "TKT-00001", f"guess{n}@x.io", **{"X-Forwarded-For": f"198.51.100.{n}"}).status_code == 404
    assert track(http, "TKT-00001", EMAIL, **ip).status_code == 429  # the number's limit is tripped
    response = http.get(f"/track-ticket/{TRACKING_LINKS.make_token('TKT-00001', EMAIL)}", headers=ip)
    assert response.status_code == 200 and b"Printer on fire" in response.data


def test_a_tampered_forged_expired_or_ill_typed_link_does_not(http, acme):
    create(http, acme)
    tracked(http, "TKT-00001")
    token = TRACKING_LINKS.make_token("TKT-00001", EMAIL)
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    forged = TrackingLinks("another secret, not ours: " + "x" * 32).make_token("TKT-00001", EMAIL)
    month_ago = int(time.time()) - 31 * 86400
    expired = TRACKING_LINKS._fernet.encrypt_at_time(json.dumps({"t": "TKT-00001", "e": EMAIL.lower()}).encode(),
                                                     month_ago).decode()
    # Signed with the right secret, but not the shape of a link (needs the secret; still a 404, not a 500).
    ill_typed = [TRACKING_LINKS._fernet.encrypt(json.dumps(payload).encode()).decode()
                 for payload in ({"t": 1, "e": EMAIL}, {"t": "TKT-00001", "e": ["x"]}, ["TKT-00001", EMAIL], "x")]
    for bad in (tampered, forged, expired, "x" * 40, "x" * 2000, *ill_typed):
        response = http.get(f"/track-ticket/{bad}")
        assert response.status_code == 404, bad
        assert b"Printer on fire" not in response.data and b"not valid or has expired" in response.data


def test_the_access_log_names_the_route_not_the_token(http, gateway_db, caplog):
    caplog.set_level(logging.INFO, logger="deskline.access")
    token = TRACKING_LINKS.make_token("TKT-00042", EMAIL)
    http.get(f"/track-ticket/{token}")
    records = [record for record in caplog.records if record.name == "deskline.access"]
    assert any("/track-ticket/<token>" in record.getMessage() for record in records)
    assert not any(token in record.getMessage() or token in str(getattr(record, "fields", "")) for record in records)


def test_a_link_does_not_show_the_customers_address():
    token = TRACKING_LINKS.make_token("TKT-00001", EMAIL)
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert EMAIL.lower().encode() not in decoded.lower() and b"TKT-00001" not in decoded
    assert TRACKING_LINKS.read_token(token) == ("TKT-00001", EMAIL.lower())


def test_the_form_page_has_a_strict_csp_and_no_inline_code(http, gateway_db):
    response = http.get("/track-ticket")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    page = response.data.decode()
    assert "<script src=" in page and "<script>" not in page and "style=" not in page and "<style" not in page
    assert 'name="viewport"' in page
    assert http.get("/static/public/tracker.css").status_code == 200 and http.get("/static/public/tracker.js").status_code == 200


def test_the_form_asks_again_for_missing_fields(http, gateway_db):
    response = http.post("/track-ticket", data={"ticket": "TKT-00001"})
    assert response.status_code == 422 and b"Enter your ticket number" in response.data


class TestReadModel:
    """The projection's rules, straight against Redis: idempotent, order-proof, tombstoned."""

    @pytest.fixture
    def view(self, test_redis, redis_prefix):
        return TrackerView(test_redis, redis_prefix, "k" * 32)

    @staticmethod
    def event(event_type, updated_at, status="open", changes=None, event_id="e1"):
        ticket = {"ticket_number": "TKT-00005", "client_id": "acme", "title": "T", "description": "D", "status": status, "priority": "low",
                  "category": "general", "customer_email": "a@b.io", "created_at": "2025-01-01T10:00:00+00:00",
                  "updated_at": updated_at, "resolved_at": None, "closed_at": None}
        data = {"ticket": ticket, "actor": "x"}
        if changes:
            data["changes"] = changes
        return {"event_id": event_id, "event_type": event_type, "data": data}

    def lookup(self, view):
        limits = {"per_ip": 100, "ip_window": 60, "per_ticket": 100, "ticket_window": 60}
        return view.lookup("TKT-00005", " A@B.io ", "127.0.0.1", limits)

    def test_redelivery_and_reordering_change_nothing(self, view):
        created = self.event("ticket.created", "2025-01-01T10:00:00+00:00")
        updated = self.event("ticket.updated", "2025-01-01T11:00:00+00:00", "pending",
                             {"status": {"from": "open", "to": "pending"}}, "e2")
        view.apply_event(updated)
        view.apply_event(created)  # late: must not roll the status back
        view.apply_event(updated)  # redelivered
        outcome, [(client, doc, timeline)] = self.lookup(view)
        assert outcome == "hit" and client == "acme" and doc["status"] == "pending"
        assert [entry["kind"] for entry in timeline] == ["created", "status"]

    def test_history_and_events_describe_the_same_entry_once(self, view):
        from services.tracker_gateway.projector.read_model import entries_from_history

        view.apply_event(self.event("ticket.created", "2025-01-01T10:00:00+00:00"))
        ticket = self.event("ticket.created", "2025-01-01T10:00:00+00:00")["data"]["ticket"]
        # The database may answer in another time zone: the entry is still the same one.
        view.apply_snapshot(ticket, entries_from_history([{"action": "created", "at": "2025-01-01T11:00:00+01:00"}]))
        assert len(self.lookup(view)[1][0][2]) == 1

    def test_a_deleted_ticket_stays_deleted(self, view):
        view.apply_event(self.event("ticket.created", "2025-01-01T10:00:00+00:00"))
        view.apply_event(self.event("ticket.deleted", "2025-01-01T10:00:00+00:00"))
        view.apply_event(self.event("ticket.updated", "2025-01-02T10:00:00+00:00", event_id="late"))
        assert self.lookup(view) == ("miss",)


def test_redis_unreachable_is_a_503_not_a_500(gateway_settings, gateway_db):
    from services.tracker_gateway.app import close_app, create_app

    app = create_app({**gateway_settings, "REDIS_URL": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    try:
        http = app.test_client()
        response = http.get(TRACK, query_string={"ticket": "TKT-00001", "email": EMAIL})
        assert response.status_code == 503 and response.get_json()["error"] == "service_unavailable"
        page = http.post("/track-ticket", data={"ticket": "TKT-00001", "email": EMAIL})
        assert page.status_code == 503 and b"could not do that just now" in page.data
        assert http.get("/readyz").status_code == 503
        with app.app_context():
            assert health.readiness()["checks"]["redis"] != "ok"
    finally:
        close_app(app)
