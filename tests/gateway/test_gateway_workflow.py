"""Issue 14 through the gateway against a real tickets service: bulk actions, saved views, queue counts
and canned replies, with their permissions (shared ones are the admins') and tenancy."""
import uuid

import pytest
from sqlalchemy.orm import Session

from services.tracker_gateway.accounts.models import Agent
from tests.fixtures.gateway import Tenant
from tests.fixtures.openapi import DocumentedCalls
from tests.gateway.test_gateway_openapi import WORKFLOW_PATHS

API = "/api/entities/ticket"


@pytest.fixture
def admin(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[0])


@pytest.fixture
def agent(tenants, gateway_engine, password_hash, auth_headers):
    """A plain agent (role agent) of the admin's client."""
    with Session(gateway_engine) as session:
        row = Agent(client_id=uuid.UUID(tenants[0].client_id), email="bo@acme.example", name="Bo <b>Agent</b>",
                    role="agent", password_hash=password_hash, active=True)
        session.add(row)
        session.commit()
        return auth_headers(Tenant(tenants[0].client_id, "acme", row.email, str(row.id)))


@pytest.fixture
def globex(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[1])


def create(http, headers, **fields):
    body = {"title": "Printer on fire", "description": "It is on fire.", "customer_email": "kira@example.com", **fields}
    response = http.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- bulk --

def test_bulk_changes_tickets_by_reference_and_reports_each_failure(http, admin, globex, tenants):
    mine = [create(http, admin)["ticket_number"] for _ in range(3)]
    # Numbers are per client: globex's fourth ticket has a number acme does not have.
    theirs = [create(http, globex)["ticket_number"] for _ in range(4)][-1]
    response = http.post(f"{API}/bulk", headers=admin, json={
        "tickets": [mine[0], {"ticket": mine[1], "changes": {"priority": "nope"}}, mine[2], theirs],
        "changes": {"assigned_to": tenants[0].email, "priority": "high"}})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["changed"], body["unchanged"]) == (2, 0)
    assert [(f["ticket"], f["error"]) for f in body["failed"]] == [(mine[1], "validation_error"), (theirs, "not_found")]
    history = http.get(f"{API}/{mine[0]}/history", headers=admin).get_json()["items"]
    assert {(h["field"], h["actor"]) for h in history if h["action"] == "updated"} == {
        ("assigned_to", tenants[0].email), ("priority", tenants[0].email)}
    assert http.get(f"{API}/{mine[1]}", headers=admin).get_json()["priority"] == "medium"
    assert http.get(f"{API}/{theirs}", headers=globex).get_json()["assigned_to"] is None


def test_bulk_by_filter_and_bulk_delete(http, admin):
    for priority in ("low", "low", "high"):
        create(http, admin, priority=priority)
    response = http.post(f"{API}/bulk", headers=admin, json={"filter": {"priority": "low"}, "changes": {"status": "pending"}})
    assert response.get_json() == {"changed": 2, "unchanged": 0, "failed": []}
    response = http.post(f"{API}/bulk", headers=admin, json={"filter": {"queue": "pending"}, "delete": True})
    assert response.get_json() == {"changed": 2, "unchanged": 0, "failed": []}
    assert http.get(API, headers=admin).get_json()["total"] == 1


@pytest.mark.parametrize("body, field", [
    ({"tickets": ["TKT-00001"]}, "changes"),
    ({"changes": {"status": "open"}}, "tickets"),
    ({"tickets": ["TKT-00001"], "changes": {"title": "x"}}, "changes.title"),  # a nested field: its dotted path
    ({"filter": {"status": "bogus"}, "changes": {"priority": "low"}}, "filter.status"),
    ({"tickets": [None], "changes": {"priority": "low"}}, "tickets.0"),
    ({"tickets": "TKT-00001", "changes": {"priority": "low"}}, "tickets"),
])
def test_a_malformed_batch_is_a_422_naming_the_field(http, admin, body, field):
    create(http, admin)
    response = http.post(f"{API}/bulk", headers=admin, json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert http.get(f"{API}/TKT-00001/history", headers=admin).get_json()["items"][-1]["action"] == "created"


def test_bulk_needs_a_login(http, tickets_service):
    assert http.post(f"{API}/bulk", json={"tickets": ["TKT-00001"], "delete": True}).status_code == 401


# -- saved views and queues --

def test_views_personal_and_shared_with_their_permissions(http, admin, agent, globex):
    response = http.post("/api/views", headers=agent, json={"name": "Team urgent", "query": "priority=urgent", "shared": True})
    assert response.status_code == 403 and "admin" in response.get_json()["message"]
    shared = http.post("/api/views", headers=admin, json={"name": "Team urgent", "query": "?priority=urgent&page=2", "shared": True})
    assert shared.status_code == 201
    shared = shared.get_json()
    assert (shared["query"], shared["filters"], shared["shared"]) == ("priority=urgent", {"priority": "urgent"}, True)
    own = http.post("/api/views", headers=agent, json={"name": "Mine by priority", "query": "queue=open&sort=-priority"}).get_json()
    listed = http.get("/api/views", headers=agent).get_json()["items"]
    assert [(v["name"], v["shared"], v["editable"]) for v in listed] == [("Team urgent", True, False), ("Mine by priority", False, True)]
    # The shared one: the agent may use it, not change it; the admin may.
    assert http.put(f"/api/views/{shared['id']}", headers=agent, json={"name": "x"}).status_code == 403
    assert http.delete(f"/api/views/{shared['id']}", headers=agent).status_code == 403
    assert http.put(f"/api/views/{own['id']}", headers=agent, json={"shared": True}).status_code == 403
    assert http.put(f"/api/views/{shared['id']}", headers=admin, json={"name": "Urgent"}).get_json()["name"] == "Urgent"
    # Another agent's personal view, another client's shared one: not there at all.
    assert http.put(f"/api/views/{own['id']}", headers=admin, json={"name": "x"}).status_code == 404
    assert http.get("/api/views", headers=globex).get_json()["items"] == []
    assert http.delete(f"/api/views/{shared['id']}", headers=globex).status_code == 404
    assert http.delete(f"/api/views/{own['id']}", headers=agent).status_code == 204
    assert [v["name"] for v in http.get("/api/views", headers=agent).get_json()["items"]] == ["Urgent"]


@pytest.mark.parametrize("body, field", [
    ({"name": "", "query": "status=open"}, "name"),
    ({"name": "x", "query": "status=bogus"}, "query"),
    ({"name": "x"}, "query"),
    ({"name": "x" * 81, "query": ""}, "name"),
])
def test_a_bad_view_is_a_422(http, admin, body, field):
    response = http.post("/api/views", headers=admin, json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()


def test_queue_counts_follow_the_tickets_and_the_views(http, admin, agent, tenants):
    create(http, admin, assigned_to=tenants[0].email)
    create(http, admin)
    create(http, admin, status="pending")
    create(http, admin, status="resolved", priority="urgent")
    http.post("/api/views", headers=admin, json={"name": "Urgent", "query": "priority=urgent", "shared": True})
    counts = http.get("/api/queues", headers=admin).get_json()
    assert counts["queues"] == {"open": 2, "unassigned": 2, "pending": 1, "resolved_recently": 1, "mine": 1}
    assert [(v["name"], v["count"]) for v in counts["views"]] == [("Urgent", 1)]
    assert http.get("/api/queues", headers=agent).get_json()["queues"]["mine"] == 0
    mine = http.get(f"{API}?queue=open&assigned_to={tenants[0].email}", headers=admin).get_json()
    assert mine["total"] == 1


# -- canned replies --

def test_canned_replies_check_placeholders_at_save_and_render_escaped(http, admin, agent, tenants):
    bad = http.post("/api/canned-replies", headers=agent, json={"name": "Hi", "body": "Hi {{customer}}"})
    assert bad.status_code == 422 and "Unknown placeholder {{customer}}" in bad.get_json()["errors"]["body"][0]
    assert http.post("/api/canned-replies", headers=agent,
                     json={"name": "Team", "body": "Hello", "shared": True}).status_code == 403
    reply = http.post("/api/canned-replies", headers=agent, json={
        "name": "Greeting", "body": "Hi {{customer_name}}, {{agent_name}} on {{ticket_number}}: {{tracking_link}}"}).get_json()
    ticket = create(http, admin, customer_name='Kira <script>x</script>')
    rendered = http.post(f"/api/canned-replies/{reply['id']}/render", headers=agent, json={"ticket": ticket["ticket_number"]})
    assert rendered.status_code == 200
    text, html = rendered.get_json()["text"], rendered.get_json()["html"]
    assert text.startswith(f"Hi Kira <script>x</script>, Bo <b>Agent</b> on {ticket['ticket_number']}: http")
    assert html.startswith(f"Hi Kira &lt;script&gt;x&lt;/script&gt;, Bo &lt;b&gt;Agent&lt;/b&gt; on {ticket['ticket_number']}")
    assert "/t/" in text or "track" in text
    # The admin cannot see, render or change the agent's personal reply.
    assert http.post(f"/api/canned-replies/{reply['id']}/render", headers=admin, json={"ticket": ticket["id"]}).status_code == 404
    shared = http.post("/api/canned-replies", headers=admin, json={"name": "Thanks", "body": "Thanks!", "shared": True}).get_json()
    assert http.put(f"/api/canned-replies/{shared['id']}", headers=agent, json={"body": "Nope"}).status_code == 403
    assert http.put(f"/api/canned-replies/{reply['id']}", headers=agent, json={"body": "{{nope}}"}).status_code == 422
    assert [r["name"] for r in http.get("/api/canned-replies", headers=agent).get_json()["items"]] == ["Thanks", "Greeting"]


def test_every_answer_matches_its_documented_schema(http, gateway_app, admin, agent):
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    ticket = create(http, admin)
    call("POST", f"{API}/bulk", 200, headers=admin, json={"tickets": [ticket["id"], "TKT-09999"], "changes": {"priority": "low"}})
    call("POST", f"{API}/bulk", 422, headers=admin, json={"tickets": []})
    view = call("POST", "/api/views", 201, headers=admin, json={"name": "Low", "query": "priority=low", "shared": True})
    call("POST", "/api/views", 403, headers=agent, json={"name": "Low", "query": "priority=low", "shared": True})
    call("POST", "/api/views", 422, headers=admin, json={"name": ""})
    call("GET", "/api/views", 200, headers=agent)
    call("PUT", f"/api/views/{view['id']}", 200, headers=admin, json={"name": "Low priority"})
    call("PUT", f"/api/views/{view['id']}", 403, headers=agent, json={"name": "x"})
    call("PUT", f"/api/views/{view['id']}", 422, headers=admin, json={"query": "sort=x"})
    call("GET", "/api/queues", 200, headers=agent)
    call("DELETE", f"/api/views/{view['id']}", 403, headers=agent)
    call("DELETE", f"/api/views/{view['id']}", 204, headers=admin)
    call("DELETE", f"/api/views/{view['id']}", 404, headers=admin)
    reply = call("POST", "/api/canned-replies", 201, headers=admin, json={"name": "Hi", "body": "Hi {{customer_name}}", "shared": True})
    call("POST", "/api/canned-replies", 403, headers=agent, json={"name": "Hi", "body": "Hi", "shared": True})
    call("POST", "/api/canned-replies", 422, headers=agent, json={"name": "Hi", "body": "{{x}}"})
    call("GET", "/api/canned-replies", 200, headers=agent)
    call("POST", f"/api/canned-replies/{reply['id']}/render", 200, headers=agent, json={"ticket": ticket["ticket_number"]})
    call("POST", f"/api/canned-replies/{reply['id']}/render", 404, headers=agent, json={"ticket": "TKT-09999"})
    call("POST", f"/api/canned-replies/{reply['id']}/render", 422, headers=agent, json={})
    call("PUT", f"/api/canned-replies/{reply['id']}", 200, headers=admin, json={"body": "Hello {{ agent_name }}"})
    call("PUT", f"/api/canned-replies/{reply['id']}", 403, headers=agent, json={"body": "x"})
    call("PUT", f"/api/canned-replies/{reply['id']}", 422, headers=admin, json={"body": ""})
    call("DELETE", f"/api/canned-replies/{reply['id']}", 403, headers=agent)
    call("DELETE", f"/api/canned-replies/{reply['id']}", 204, headers=admin)
    assert call.seen == call.operations(lambda path: path in WORKFLOW_PATHS)
