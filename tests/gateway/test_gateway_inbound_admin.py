"""Inbound email for admins (/api/inbound, and the SendGrid URL in GET /api/client), against the real
notifier, tickets service, broker and databases: mail posted to a client's SendGrid hook is listed for
that client's admins only, its kept raw bytes download as a file, agents get 403, another client 404."""
# ruff: noqa: F811  (the hook's fixtures are imported below, and pytest passes them by name)
import pytest

from services.tracker_gateway.accounts.roles import ADMIN_ONLY
from tests.fixtures.inbound_mail import DOMAIN, broken_mime, plain_mail
from tests.fixtures.openapi import DocumentedCalls
from tests.gateway.test_gateway_agents import add_agent, bearer, login

# The SendGrid hook through a real socket into the running notifier, as its own tests do.
from tests.gateway.test_gateway_inbound_hook import (  # noqa: F401  (fixtures)
    acme,
    gateway_settings,
    hook_url,
    notifier_settings,
    post,
    sendgrid_raw,
)

API = "/api/inbound"


@pytest.fixture
def people(http, acme, tenants, gateway_engine, password_hash):
    """Headers of acme's admin, of Ben (an agent of acme), of globex's admin."""
    tenant, _ = acme
    add_agent(gateway_engine, password_hash, tenant, "ben@acme.example")
    return (bearer(login(http, tenant.email)), bearer(login(http, "ben@acme.example")),
            bearer(login(http, tenants[1].email)))


def test_mail_through_the_hook_is_listed_for_its_admins_and_its_raw_downloads(
        http, gateway_app, acme, hook_url, people):
    tenant, secret = acme
    admin, agent, other_admin = people
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    to = f"{tenant.slug}@{DOMAIN}"
    away = plain_mail("kira@example.com", to, "Out of office", "Away", extra_headers=("Auto-Submitted: auto-replied",))
    assert post(hook_url(secret), sendgrid_raw(away, to)).json()["status"] == "ignored"
    broken = broken_mime("kira@example.com", to)
    assert post(hook_url(secret), sendgrid_raw(broken, to)).json()["status"] == "unparseable"

    items = call("GET", API, 200, headers=admin)["items"]
    assert [(item["status"], item["has_raw"]) for item in items] == [("unparseable", True), ("ignored", False)]
    assert items[0]["source"] == "sendgrid" and items[0]["size"] == len(broken) and "broken MIME" in items[0]["reason"]
    (kept,) = call("GET", API, 200, headers=admin, query_string={"status": "unparseable"})["items"]
    assert kept == items[0]
    call("GET", API, 422, headers=admin, query_string={"status": "lost"})

    response = http.get(f"{API}/{kept['id']}/raw", headers=admin)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"] == f"attachment; filename=inbound-{kept['id']}.eml"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.replace(b"\r\n", b"\n") == broken.replace(b"\r\n", b"\n")
    call("GET", f"{API}/{kept['id']}/raw", 200, headers=admin)
    call("GET", f"{API}/{items[1]['id']}/raw", 404, headers=admin)  # an ignored mail's bytes are not kept
    call("GET", f"{API}/{kept['id'] + 1000}/raw", 404, headers=admin)

    # An agent: 403 with the reason; another client's admin: nothing listed, its raw a 404.
    assert call("GET", API, 403, headers=agent)["message"] == ADMIN_ONLY
    call("GET", f"{API}/{kept['id']}/raw", 403, headers=agent)
    assert call("GET", API, 200, headers=other_admin) == {"items": []}
    call("GET", f"{API}/{kept['id']}/raw", 404, headers=other_admin)
    call("GET", API, 401)
    assert call.seen == call.operations(lambda path: path.startswith(API))


def test_the_sendgrid_url_is_shown_to_admins_only(http, gateway_app, acme, people):
    tenant, secret = acme
    admin, agent, _ = people
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    base = gateway_app.config["PUBLIC_BASE_URL"].rstrip("/")
    assert call("GET", "/api/client", 200, headers=admin)["sendgrid_inbound_url"] == (
        f"{base}/hooks/sendgrid/inbound/{secret}")
    seen = call("GET", "/api/client", 200, headers=agent)
    assert seen["sendgrid_inbound_url"] is None and secret not in str(seen)
    changed = call("PATCH", "/api/client/settings", 200, headers=admin, json={"reopen_window_days": 20})
    assert changed["sendgrid_inbound_url"].endswith(secret)


def test_without_the_notifier_the_inbound_api_is_503(http, gateway_app, tenants, auth_headers):
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])
    admin = auth_headers(tenants[0])
    assert call("GET", API, 503, headers=admin)["error"]
    assert call("GET", f"{API}/1/raw", 503, headers=admin)["error"]
