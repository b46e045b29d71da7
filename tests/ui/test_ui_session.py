"""The console's session and its own reads over plain HTTP: sign-in, the cookie, CSRF, access tokens
for the page, signing out, the panel and e-mail endpoints, and pages' headers."""
import re
import subprocess
import sys

import pytest
import requests

from shared.testing import ROOT, TRACKING_LINKS, wait_for
from tests.fixtures.ui import AgentApi, add_ui_tenant
from tests.ui.test_ui_live import EventStream


def csrf_of(page):
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


class ConsoleClient:
    """A cookie jar speaking to the console as the page does (a form post, then X-CSRF-Token calls)."""

    def __init__(self, stack):
        self.stack = stack
        self.http = requests.Session()
        self.csrf = csrf_of(self.http.get(stack.url("/agent/login"), timeout=10))

    def sign_in(self, agent, password=None, **extra):
        form = {"csrf_token": self.csrf, "email": agent.email, "password": agent.password if password is None else password,
                "next": "/agent/tickets", **extra}
        return self.http.post(self.stack.url("/agent/login"), data=form, allow_redirects=False, timeout=10)

    def session(self, **headers):
        return self.http.post(self.stack.url("/agent/session"), headers={"X-CSRF-Token": self.csrf, **headers}, timeout=10)

    @property
    def cookie(self):
        return self.http.cookies.get("deskline_session", path="/agent")


@pytest.fixture
def console(ui_stack):
    return ConsoleClient(ui_stack)


def test_pages_send_the_visitor_to_sign_in_and_back(ui_stack, ui_tenant, console):
    page = console.http.get(ui_stack.url("/agent/tickets?status=open"), allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["Location"] == "/agent/login?next=/agent/tickets?status%3Dopen"
    signed = console.sign_in(ui_tenant.ann, next="/agent/tickets?status=open")
    assert signed.status_code == 303 and signed.headers["Location"] == "/agent/tickets?status=open"
    # Never to another site, whatever `next` says.
    for elsewhere in ("https://evil.example/", "//evil.example/agent/", "/agent\\..\\x", "/track-ticket"):
        assert ConsoleClient(ui_stack).sign_in(ui_tenant.ann, next=elsewhere).headers["Location"] == "/agent/tickets"
    assert console.http.get(ui_stack.url("/agent/login"), allow_redirects=False, timeout=10).status_code == 303


def test_the_session_cookie_is_httponly_strict_and_only_for_the_console(ui_tenant, console):
    signed = console.sign_in(ui_tenant.ann)
    cookie = next(value for value in signed.raw.headers.getlist("Set-Cookie") if value.startswith("deskline_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "SameSite=Strict" in cookie and "Path=/agent" in cookie
    # No Secure over plain http (a PUBLIC_BASE_URL of https:// adds it).
    assert "secure" not in attributes


def test_wrong_password_and_throttling_are_shown_on_the_form(ui_stack, ui_tenant, console):
    wrong = console.sign_in(ui_tenant.ann, password="nope")
    assert wrong.status_code == 401 and "Wrong e-mail address or password." in wrong.text
    assert "deskline_session" not in wrong.cookies
    blank = console.sign_in(ui_tenant.ann, password="")
    assert blank.status_code == 422 and 'id="password-error">Enter your password.' in blank.text
    for _ in range(4):
        console.sign_in(ui_tenant.ann, password="nope")
    throttled = console.sign_in(ui_tenant.ann)
    assert throttled.status_code == 429 and "Too many failed attempts. Try again in 15 minutes." in throttled.text
    assert int(throttled.headers["Retry-After"]) > 0


def test_every_post_needs_the_csrf_token_and_this_sites_origin(ui_stack, ui_tenant, console):
    forged = console.sign_in(ui_tenant.ann, csrf_token="x" * 43)
    assert forged.status_code == 403 and "The form had expired" in forged.text
    assert console.sign_in(ui_tenant.ann).status_code == 303

    assert console.session(**{"X-CSRF-Token": ""}).status_code == 403
    assert console.session(**{"X-CSRF-Token": "y" * 43}).status_code == 403
    assert console.session(Origin="https://evil.example").status_code == 403
    assert console.session(Origin="null").status_code == 403
    assert console.session(Origin=ui_stack.base_url).status_code == 200
    assert console.session().status_code == 200  # no Origin header at all: the token decides

    logout = console.http.post(ui_stack.url("/agent/logout"), data={"csrf_token": "z" * 43}, allow_redirects=False, timeout=10)
    assert logout.status_code == 403
    assert console.session().status_code == 200  # still signed in


def test_the_session_hands_out_access_tokens_for_the_api(ui_stack, ui_tenant, console, ben_api):
    console.sign_in(ui_tenant.ann)
    cookie = console.cookie
    first, second = console.session(), console.session()
    assert first.status_code == second.status_code == 200
    assert console.cookie == cookie  # not rotated: a reply lost to a navigation must not end the login
    body = first.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["agent"] == {"id": body["agent"]["id"], "name": "Ann Archer", "email": ui_tenant.ann.email, "role": "admin",
                             "client_id": ui_tenant.client_id, "client_name": ui_tenant.name}
    assert first.headers["Cache-Control"] == "no-store"
    made = ben_api.create(title="Seen by Ann's page")
    seen = requests.get(ui_stack.url(f"/api/entities/ticket/{made['id']}"), timeout=10,
                        headers={"Authorization": f"Bearer {body['access_token']}"})
    assert seen.status_code == 200 and seen.json()["title"] == "Seen by Ann's page"


def test_signing_out_ends_the_login(ui_stack, ui_tenant, console):
    console.sign_in(ui_tenant.ann)
    cookie = console.cookie
    out = console.http.post(ui_stack.url("/agent/logout"), data={"csrf_token": console.csrf}, allow_redirects=False, timeout=10)
    assert out.status_code == 303 and out.headers["Location"] == "/agent/login?signed_out=1"
    assert console.cookie is None
    console.http.cookies.set("deskline_session", cookie, path="/agent")  # a copy kept by someone
    assert console.session().status_code == 401
    assert console.http.get(ui_stack.url("/agent/tickets"), allow_redirects=False, timeout=10).status_code == 303


def test_a_copied_cookie_exchanged_through_the_api_ends_the_login(ui_stack, ui_tenant, console):
    console.sign_in(ui_tenant.ann)
    stolen = requests.post(ui_stack.url("/api/auth/refresh"), json={"refresh_token": console.cookie}, timeout=10)
    assert stolen.status_code == 200
    assert console.session().status_code == 401
    # The thief's new refresh token dies with the login.
    again = requests.post(ui_stack.url("/api/auth/refresh"), json={"refresh_token": stolen.json()["refresh_token"]}, timeout=10)
    assert again.status_code == 401


def test_console_pages_are_not_cached_and_run_no_inline_code(ui_stack, ui_tenant, console):
    console.sign_in(ui_tenant.ann)
    page = console.http.get(ui_stack.url("/agent/tickets"), timeout=10)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert re.findall(r"<script(?![^>]*\bsrc=)", page.text) == []
    assert " on" not in re.sub(r'"[^"]*"', '""', "".join(re.findall(r"<[a-z][^>]*>", page.text)))  # no on* handlers
    assert "Ann Archer" in page.text and ui_tenant.name in page.text
    assert f'value="{ui_tenant.ben.email}">Ben Baker</option>' in page.text  # the client's agents, for assignment


def test_the_panel_endpoint_gives_ticket_history_and_signed_tracking_link(ui_stack, ui_tenant, ben_api):
    made = ben_api.create(title="Panel data", customer_email="Kira@Example.com")
    ben_api.update(made["id"], status="in_progress")
    panel = ben_api.get(f"/api/console/tickets/{made['ticket_number'].lower()}").json()
    assert panel["ticket"]["id"] == made["id"]
    assert [(h["action"], h["field"]) for h in panel["history"]] == [("created", None), ("updated", "status")]
    assert panel["tracker_url"] == ui_stack.url("/track-ticket")
    token = panel["tracking_url"].removeprefix(ui_stack.url("/track-ticket/"))
    assert TRACKING_LINKS.read_token(token) == (made["ticket_number"], "kira@example.com")

    no_email = ben_api.create(title="No e-mail", customer_email=None)
    assert ben_api.get(f"/api/console/tickets/{no_email['id']}").json()["tracking_url"] is None


def test_the_emails_endpoint_lists_what_the_notifier_sent(ui_stack, ben_api):
    made = ben_api.create(title="Mail me", customer_email="kira@example.com")

    def sent():
        items = ben_api.get(f"/api/console/tickets/{made['ticket_number']}/emails").json()["items"]
        return items if items and items[0]["status"] == "sent" else None

    items = wait_for(sent, timeout=10, message="the created e-mail")
    assert items[0]["kind"] == "created" and items[0]["recipient"] == "kira@example.com"
    assert f"[{made['ticket_number']}]" in items[0]["subject"]
    assert "id" not in items[0] and "provider_message_id" not in items[0]


def test_console_reads_stay_within_the_agents_client(ui_stack, ui_password_hash, ben_api):
    made = ben_api.create(title="Acme only")
    other = AgentApi(ui_stack, add_ui_tenant(ui_stack.gateway_engine, ui_password_hash, "Globex").ann)
    for path in (f"/api/console/tickets/{made['id']}", f"/api/console/tickets/{made['ticket_number']}/emails"):
        assert other.get(path).status_code == 404
        assert requests.get(ui_stack.url(path), timeout=10).status_code == 401


def test_a_deactivated_agent_loses_every_token_session_and_stream_at_once(ui_stack, ui_tenant, console, ben_api):
    console.sign_in(ui_tenant.ben)
    refresh = requests.post(ui_stack.url("/api/auth/login"), json={"email": ui_tenant.ben.email,
                                                                   "password": ui_tenant.ben.password}, timeout=10)
    stream = EventStream(ui_stack.base_url, ben_api.token)
    try:
        assert stream.next_event()[0] == "ready"
        deactivated = subprocess.run(
            [sys.executable, "-m", "services.tracker_gateway", "deactivate-agent", "--email", ui_tenant.ben.email],
            cwd=ROOT, env=ui_stack.gateway_env, capture_output=True, text=True, timeout=60)
        assert deactivated.returncode == 0, deactivated.stderr
        assert ben_api.get("/api/auth/me").status_code == 401  # the access token, on its next request
        AgentApi(ui_stack, ui_tenant.ann).create(title="Ann goes on working")
        assert stream.until(lambda kind, data: kind == "expired")  # the stream ends at its next event
    finally:
        stream.close()
    again = requests.post(ui_stack.url("/api/auth/refresh"), json={"refresh_token": refresh.json()["refresh_token"]},
                          timeout=10)
    assert again.status_code == 401
    assert console.session().status_code == 401  # the console's cookie
    assert console.sign_in(ui_tenant.ben).status_code == 401
