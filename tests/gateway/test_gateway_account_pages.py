"""The console's account pages over HTTP, with the real notifier e-mailing the links: invitations and
password resets are single use, expire, resist tampering, and "forgot password" answers the same for
any address (rate limited); the profile feeds the directory; the team page is for admins only."""
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.notifier import directory as notifier_directory
from services.tracker_gateway.accounts.models import Agent, AgentLink
from shared.testing import wait_for
from tests.fixtures.gateway import PASSWORD
from tests.gateway.test_gateway_agents import add_agent, bearer, console_login, login

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def gateway_settings(gateway_settings):
    return {**gateway_settings, "PASSWORD_RESETS_PER_EMAIL": 3, "PASSWORD_RESETS_PER_IP": 50}


@pytest.fixture
def team(gateway_engine, password_hash, tenants):
    acme = tenants[0]
    return acme, add_agent(gateway_engine, password_hash, acme, "ben@acme.example")


def csrf_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode()).group(1)


def link_in(message, kind):
    return re.search(rf"http://\S+(/agent/{kind}/[\w-]+)", message.part("plain")).group(1)


def invite(http, auth_headers, acme, smtp_sink, email="cleo@acme.example"):
    response = http.post("/api/agents", headers=auth_headers(acme), json={"email": email, "name": "Cleo"})
    assert response.status_code == 201
    message = wait_for(lambda: [m for m in smtp_sink.received if email in m.rcpt_tos], message="the invitation")[-1]
    return link_in(message, "invitation")


def test_an_invitation_link_signs_the_agent_in_once(gateway_app, http, team, auth_headers, notifier_service, smtp_sink):
    acme = team[0]
    path = invite(http, auth_headers, acme, smtp_sink)
    browser = gateway_app.test_client()
    page = browser.get(path)
    assert page.status_code == 200 and b"cleo@acme.example" in page.data
    csrf = csrf_of(page)
    # A refused form leaves the link working.
    short = browser.post(path, data={"csrf_token": csrf, "name": "Cleo", "password": "short", "confirm_password": "short"})
    assert short.status_code == 422 and b"at least 10 characters" in short.data
    differ = browser.post(path, data={"csrf_token": csrf, "name": "Cleo", "password": NEW_PASSWORD,
                                      "confirm_password": NEW_PASSWORD + "!"})
    assert differ.status_code == 422 and b"The two passwords differ." in differ.data
    assert browser.post(path, data={"name": "Cleo", "password": NEW_PASSWORD,
                                    "confirm_password": NEW_PASSWORD}).status_code == 403  # no CSRF token: refused
    accepted = browser.post(path, data={"csrf_token": csrf, "name": "Cleo Smith", "password": NEW_PASSWORD,
                                        "confirm_password": NEW_PASSWORD})
    assert accepted.status_code == 303 and accepted.headers["Location"].endswith("/agent/tickets")
    assert browser.get("/agent/tickets").status_code == 200  # signed in
    team_list = http.get("/api/agents", headers=auth_headers(acme)).get_json()["items"]
    cleo = next(a for a in team_list if a["email"] == "cleo@acme.example")
    assert cleo["status"] == "active" and cleo["name"] == "Cleo Smith" and cleo["last_seen_at"]
    login(http, "cleo@acme.example", NEW_PASSWORD)
    # Used: the page and the form both say so, and nothing changes.
    assert browser.get(path).status_code == 410
    again = gateway_app.test_client().post(path, data={"csrf_token": csrf, "name": "Eve", "password": "x" * 20,
                                                       "confirm_password": "x" * 20})
    assert again.status_code in (403, 410)
    login(http, "cleo@acme.example", NEW_PASSWORD)


def test_links_refuse_tampering_expiry_and_a_newer_link(http, gateway_app, gateway_engine, team, auth_headers,
                                                        notifier_service, smtp_sink):
    acme = team[0]
    path = invite(http, auth_headers, acme, smtp_sink)
    token = path.rsplit("/", 1)[1]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, token[:-1], "x", "y" * 300, str(uuid.uuid4())):
        response = http.get(f"/agent/invitation/{bad}")
        assert response.status_code == 410 and b"expired or was already used" in response.data
    assert http.get(path).status_code == 200
    # Expired: the same answer.
    with Session(gateway_engine) as session:
        session.execute(sa.update(AgentLink).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
        session.commit()
    assert http.get(path).status_code == 410
    # A resent invitation works; the one before it no longer does.
    cleo = next(a for a in http.get("/api/agents", headers=auth_headers(acme)).get_json()["items"]
                if a["email"] == "cleo@acme.example")
    assert http.post(f"/api/agents/{cleo['id']}/invitation", headers=auth_headers(acme)).status_code == 200
    newer = link_in(smtp_sink.wait_for_count(2)[-1], "invitation")
    assert newer != path and http.get(newer).status_code == 200 and http.get(path).status_code == 410


def forgot(client, email):
    page = client.get("/agent/forgot-password")
    return client.post("/agent/forgot-password", data={"csrf_token": csrf_of(page), "email": email})


def test_forgot_password_answers_the_same_for_any_address_and_the_link_works_once(
        gateway_app, http, team, notifier_service, smtp_sink):
    acme, _ = team
    pair = login(http, "ben@acme.example")
    known, unknown = forgot(http, "Ben@Acme.example"), forgot(http, "nobody@acme.example")
    assert known.status_code == unknown.status_code == 200
    strip = lambda response: re.sub(r'value="[^"]+"', "", response.data.decode())  # noqa: E731 (the CSRF token)
    assert strip(known) == strip(unknown) and "If an account uses this address" in strip(known)
    message = smtp_sink.wait_for_count(1)[0]
    assert message.rcpt_tos == ["ben@acme.example"] and "Reset your Deskline password" in message.subject
    path = link_in(message, "reset-password")

    page = http.get(path)
    assert page.status_code == 200
    done = http.post(path, data={"csrf_token": csrf_of(page), "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 303 and "reset=1" in done.headers["Location"]
    assert b"Your password is changed" in http.get(done.headers["Location"]).data
    assert http.post("/api/auth/login", json={"email": "ben@acme.example", "password": PASSWORD}).status_code == 401
    login(http, "ben@acme.example", NEW_PASSWORD)
    # Every earlier login of Ben's ended with the reset.
    assert http.get("/api/auth/me", headers=bearer(pair)).status_code == 401
    assert http.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    # Single use.
    assert http.get(path).status_code == 410
    assert http.post(path, data={"csrf_token": csrf_of(page), "password": "another long one",
                                 "confirm_password": "another long one"}).status_code == 410
    assert len(smtp_sink.received) == 1  # nothing was sent for the unknown address


def test_forgot_password_is_rate_limited_alike_for_known_and_unknown_addresses(http, team):
    for email in ("ben@acme.example", "nobody@acme.example"):
        answers = [forgot(http, email).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429], email
    limited = forgot(http, "nobody@acme.example")
    assert "Try again in" in limited.data.decode() and int(limited.headers["Retry-After"]) > 0


def test_a_reset_link_of_a_deactivated_agent_does_not_work(http, team, auth_headers, notifier_service, smtp_sink):
    acme, ben = team
    forgot(http, "ben@acme.example")
    path = link_in(smtp_sink.wait_for_count(1)[0], "reset-password")
    assert http.patch(f"/api/agents/{ben}", headers=auth_headers(acme), json={"active": False}).status_code == 200
    assert http.get(path).status_code == 410


def test_the_profile_saves_name_and_preferences_into_the_directory(
        gateway_app, gateway_engine, team, notifier_service, notifier_sessions):
    browser = gateway_app.test_client()
    console_login(browser, "ben@acme.example")
    page = browser.get("/agent/profile")
    assert page.status_code == 200 and b'id="notify-assignments" checked' in page.data
    saved = browser.post("/agent/profile", data={"csrf_token": csrf_of(page), "display_name": "Benjamin",
                                                 "notify_customer_messages": "on"})
    assert saved.status_code == 303
    assert b"Profile saved." in browser.get(saved.headers["Location"]).data

    def copied():
        with notifier_sessions() as session:
            agent = notifier_directory.agent_by_email(session, "ben@acme.example")
        return agent if agent and agent["name"] == "Benjamin" else None
    agent = wait_for(copied, message="the profile in the notifier's directory")
    assert agent["notify"] == {"customer_messages": True, "assignments": False}
    assert b"Benjamin" in browser.get("/agent/tickets").data  # the top bar names them so


def test_changing_the_password_needs_the_current_one(gateway_app, http, team):
    browser = gateway_app.test_client()
    console_login(browser, "ben@acme.example")
    csrf = csrf_of(browser.get("/agent/profile"))
    form = {"csrf_token": csrf, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    wrong = browser.post("/agent/profile/password", data={**form, "current_password": "not it"})
    assert wrong.status_code == 422 and b"The current password is not right." in wrong.data
    short = browser.post("/agent/profile/password", data={**form, "current_password": PASSWORD,
                                                           "new_password": "short", "confirm_password": "short"})
    assert short.status_code == 422 and b"at least 10" in short.data
    assert browser.post("/agent/profile/password", data={**form, "current_password": PASSWORD}).status_code == 303
    login(http, "ben@acme.example", NEW_PASSWORD)


def test_the_team_page_and_its_link_are_for_admins_only(gateway_app, team, password_hash, gateway_engine):
    acme, ben = team
    agent_browser, admin_browser = gateway_app.test_client(), gateway_app.test_client()
    console_login(agent_browser, "ben@acme.example")
    console_login(admin_browser, acme.email)
    assert b'data-nav="team"' not in agent_browser.get("/agent/tickets").data
    refused = agent_browser.get("/agent/team")
    assert refused.status_code == 403 and b"Only an admin of your team" in refused.data
    csrf = csrf_of(agent_browser.get("/agent/profile"))
    assert agent_browser.post(f"/agent/team/{acme.agent_id}", data={"csrf_token": csrf, "action": "deactivate"}
                              ).status_code == 403
    page = admin_browser.get("/agent/tickets")
    assert b'data-nav="team"' in page.data
    team_page = admin_browser.get("/agent/team")
    assert team_page.status_code == 200 and b"ben@acme.example" in team_page.data
    # The admin deactivates Ben from the page; the last admin cannot deactivate themself.
    csrf = csrf_of(team_page)
    assert admin_browser.post(f"/agent/team/{ben}", data={"csrf_token": csrf, "action": "deactivate"}).status_code == 303
    last = admin_browser.post(f"/agent/team/{acme.agent_id}", data={"csrf_token": csrf, "action": "deactivate"})
    assert last.status_code == 409 and b"last active admin" in last.data
    with Session(gateway_engine) as session:
        assert session.get(Agent, uuid.UUID(ben)).active is False
    # Their tickets still name them, as deactivated.
    assert b"Ben (deactivated)" in admin_browser.get("/agent/tickets").data
