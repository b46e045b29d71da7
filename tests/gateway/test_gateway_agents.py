"""The team API (/api/agents, admins only), against the real notifier, broker, database and Redis:
roles enforced (403 with a reason for agents), invitations e-mailed once, role changes, the last
active admin kept, and deactivation ending every token and session of the agent at once."""
import re
import uuid

import pytest
from sqlalchemy.orm import Session

from services.notifier import directory as notifier_directory
from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.roles import ADMIN_ONLY
from shared.testing import wait_for
from tests.fixtures.gateway import PASSWORD
from tests.fixtures.openapi import DocumentedCalls

API = "/api/agents"


def add_agent(engine, password_hash, tenant, email, role="agent"):
    with Session(engine) as session:
        agent = Agent(client_id=uuid.UUID(tenant.client_id), email=email, name=email.split("@")[0].title(), role=role,
                      password_hash=password_hash, active=True)
        session.add(agent)
        session.commit()
        return str(agent.id)


@pytest.fixture
def team(gateway_app, gateway_engine, password_hash, tenants):
    """acme: its admin (tenants), and Ben, an agent; globex: its admin."""
    acme, globex = tenants
    ben = add_agent(gateway_engine, password_hash, acme, "ben@acme.example")
    return acme, globex, ben


def login(http, email, password=PASSWORD):
    response = http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(pair):
    return {"Authorization": f"Bearer {pair['access_token']}"}


def console_login(http, email, password=PASSWORD):
    """Sign in on the console's form: the browser session is the cookie the test client keeps."""
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', http.get("/agent/login").data.decode()).group(1)
    response = http.post("/agent/login", data={"csrf_token": csrf, "email": email, "password": password})
    assert response.status_code == 303, response.data
    return csrf


def test_every_admin_endpoint_is_403_for_an_agent_and_answers_an_admin(
        http, gateway_app, team, notifier_service, smtp_sink):
    acme, _, ben = team
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    agent_headers, admin_headers = bearer(login(http, "ben@acme.example")), bearer(login(http, acme.email))
    invite = {"email": "cleo@acme.example", "name": "Cleo", "role": "agent"}
    requests = [("GET", API, None), ("POST", API, invite), ("PATCH", f"{API}/{ben}", {"role": "admin"})]
    for method, path, body in requests:
        refused = call(method, path, 403, headers=agent_headers, json=body)
        assert refused == {"error": "forbidden", "message": ADMIN_ONLY}
    listing = call("GET", API, 200, headers=admin_headers)
    assert [(a["email"], a["role"], a["status"]) for a in listing["items"]] == [
        ("admin@acme.example", "admin", "active"), ("ben@acme.example", "agent", "active")]
    invited = call("POST", API, 201, headers=admin_headers, json=invite)
    assert invited["status"] == "invited" and invited["invitation"]["sent"] is True
    call("POST", f"{API}/{invited['id']}/invitation", 403, headers=agent_headers)
    assert call("POST", f"{API}/{invited['id']}/invitation", 200, headers=admin_headers)["sent"] is True
    # The client: every agent reads it; only admins change its settings.
    assert call("GET", "/api/client", 200, headers=agent_headers)["settings"] == {"reopen_window_days": 14, "sms_updates": False}
    refused = call("PATCH", "/api/client/settings", 403, headers=agent_headers, json={"reopen_window_days": 30})
    assert refused["message"] == ADMIN_ONLY
    call("PATCH", "/api/client/settings", 403, headers=agent_headers, json={"sms_updates": True})
    changed = call("PATCH", "/api/client/settings", 200, headers=admin_headers, json={"reopen_window_days": 30})
    assert changed["settings"] == {"reopen_window_days": 30, "sms_updates": False} and changed["inbound_address"].startswith("acme@")
    call("PATCH", "/api/client/settings", 422, headers=admin_headers, json={"reopen_window_days": 0})
    call("PATCH", "/api/client/settings", 422, headers=admin_headers, json={"sms_updates": "yes"})
    assert call("PATCH", "/api/client/settings", 200, headers=admin_headers,
                json={"sms_updates": True})["settings"] == {"reopen_window_days": 30, "sms_updates": True}
    assert call("PATCH", f"{API}/{ben}", 200, headers=admin_headers, json={"role": "admin"})["role"] == "admin"
    # Every team and client operation was called, and each answer matched the document.
    assert call.seen >= call.operations(lambda path: path.startswith((API, "/api/client")))
    assert {"403", "409", "422"} <= set(gateway_app.extensions["openapi"]["paths"][f"{API}/{{agent_id}}"]["patch"]["responses"])


def test_an_invitation_is_one_email_with_a_link_and_the_agent_is_in_the_directory(
        http, team, notifier_service, notifier_sessions, smtp_sink, auth_headers):
    acme = team[0]
    headers = {**auth_headers(acme), "Idempotency-Key": "invite-cleo-1"}
    created = http.post(API, headers=headers, json={"email": "Cleo@Acme.example", "name": "Cleo", "role": "admin"})
    assert created.status_code == 201
    assert created.get_json()["email"] == "cleo@acme.example"
    message = smtp_sink.wait_for_count(1)[0]
    assert message.rcpt_tos == ["cleo@acme.example"] and "Acme" in message.subject
    assert re.search(r"/agent/invitation/[\w-]{40,}", message.part("plain"))
    # The same request again (same key): the address exists now, nothing more is sent.
    again = http.post(API, headers=headers, json={"email": "cleo@acme.example", "name": "Cleo", "role": "admin"})
    assert again.status_code == 409 and "email" in again.get_json()["errors"]

    def copied():
        with notifier_sessions() as session:
            return notifier_directory.agent_by_email(session, "cleo@acme.example")
    assert wait_for(copied, message="the invited agent in the notifier's directory")["role"] == "admin"
    assert len(smtp_sink.received) == 1
    # A settings change reaches the copy too.
    assert http.patch("/api/client/settings", headers=auth_headers(acme), json={"reopen_window_days": 3}).status_code == 200

    def settings():
        with notifier_sessions() as session:
            return notifier_directory.client_by_slug(session, "acme")["settings"]
    wait_for(lambda: settings() == {"reopen_window_days": 3, "sms_updates": False}, message="the settings in the notifier's directory")


def test_an_invitation_is_answered_even_when_the_notifier_is_away(http, gateway_app, team, auth_headers):
    created = http.post(API, headers=auth_headers(team[0]), json={"email": "dee@acme.example", "name": "Dee"})
    assert created.status_code == 201
    assert created.get_json()["invitation"]["sent"] is False and created.get_json()["role"] == "agent"


@pytest.mark.parametrize("body, field", [
    ({"email": "not an address", "name": "X"}, "email"), ({"email": "x@acme.example", "name": " "}, "name"),
    ({"email": "x@acme.example", "name": "X", "role": "owner"}, "role"), ({}, "email"),
])
def test_invalid_invitations_are_422_with_the_field(http, team, auth_headers, body, field):
    response = http.post(API, headers=auth_headers(team[0]), json=body)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_changes_are_checked_and_scoped_to_the_admins_client(http, team, auth_headers):
    acme, globex, ben = team
    headers = auth_headers(acme)
    assert http.patch(f"{API}/{ben}", headers=headers, json={}).status_code == 422
    assert http.patch(f"{API}/{ben}", headers=headers, json={"role": "owner"}).status_code == 422
    assert http.patch(f"{API}/{ben}", headers=headers, json={"active": "maybe"}).status_code == 422
    assert http.patch(f"{API}/not-an-id", headers=headers, json={"role": "admin"}).status_code == 404
    assert http.patch(f"{API}/{uuid.uuid4()}", headers=headers, json={"role": "admin"}).status_code == 404
    # Another client's agent is as unknown as a missing one, and is left as it was.
    assert http.patch(f"{API}/{globex.agent_id}", headers=headers, json={"active": False}).status_code == 404
    assert http.get(API, headers=auth_headers(globex)).get_json()["items"][0]["active"] is True
    assert [a["email"] for a in http.get(API, headers=headers).get_json()["items"]] == [acme.email, "ben@acme.example"]


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(http, team, auth_headers):
    acme, _, ben = team
    headers = auth_headers(acme)
    for body, word in (({"role": "agent"}, "change the role of"), ({"active": False}, "deactivate")):
        refused = http.patch(f"{API}/{acme.agent_id}", headers=headers, json=body)
        assert refused.status_code == 409
        assert refused.get_json()["message"] == (
            f"You cannot {word} the last active admin: make another agent an admin first.")
    # With a second admin, the first may step down; then the second is the last one.
    assert http.patch(f"{API}/{ben}", headers=headers, json={"role": "admin"}).status_code == 200
    assert http.patch(f"{API}/{acme.agent_id}", headers=headers, json={"role": "agent"}).status_code == 200
    # The demotion counts at once, though the token still says "admin".
    assert http.get(API, headers=headers).status_code == 403
    assert http.patch(f"{API}/{ben}", headers=auth_headers(acme), json={"active": False}).status_code == 403


def test_a_deactivated_agent_loses_access_token_refresh_token_and_console_session_at_once(
        http, gateway_app, team, auth_headers):
    acme, _, ben = team
    pair = login(http, "ben@acme.example")
    browser = gateway_app.test_client()
    csrf = console_login(browser, "ben@acme.example")
    assert browser.get("/agent/tickets").status_code == 200
    assert http.get("/api/auth/me", headers=bearer(pair)).status_code == 200

    changed = http.patch(f"{API}/{ben}", headers=auth_headers(acme), json={"active": False})
    assert changed.status_code == 200 and changed.get_json()["status"] == "deactivated"

    assert http.get("/api/auth/me", headers=bearer(pair)).status_code == 401
    assert http.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    page = browser.get("/agent/tickets")
    assert page.status_code == 303 and "/agent/login" in page.headers["Location"]
    assert browser.post("/agent/session", headers={"X-CSRF-Token": csrf}).status_code == 401
    assert http.post("/api/auth/login", json={"email": "ben@acme.example", "password": PASSWORD}).status_code == 401
    # Reactivated, the agent signs in again (old tokens stay dead).
    assert http.patch(f"{API}/{ben}", headers=auth_headers(acme), json={"active": True}).status_code == 200
    assert http.get("/api/auth/me", headers=bearer(pair)).status_code == 401
    login(http, "ben@acme.example")


def test_last_seen_is_recorded_at_sign_in(http, team, auth_headers):
    acme = team[0]
    before = {a["email"]: a["last_seen_at"] for a in http.get(API, headers=auth_headers(acme)).get_json()["items"]}
    assert before["ben@acme.example"] is None
    login(http, "ben@acme.example")
    after = {a["email"]: a["last_seen_at"] for a in http.get(API, headers=auth_headers(acme)).get_json()["items"]}
    assert after["ben@acme.example"] is not None
