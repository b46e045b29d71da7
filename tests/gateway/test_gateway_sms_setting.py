"""The team page's "SMS updates" and reopen-window settings (console/team.py) over HTTP: an admin changes them
(the client's settings, as PATCH /api/client/settings changes them); an agent is neither shown them nor able to
post them."""
import re
import uuid

from sqlalchemy.orm import Session

from services.tracker_gateway.accounts.models import Client
from tests.gateway.test_gateway_agents import add_agent, console_login


def csrf_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.data.decode()).group(1)


def client_settings(engine, tenant):
    with Session(engine) as session:
        return session.get(Client, uuid.UUID(tenant.client_id)).settings or {}


def sms_setting(engine, tenant):
    return client_settings(engine, tenant).get("sms_updates")


def test_an_admin_turns_sms_updates_on_and_off_and_an_agent_cannot(gateway_app, gateway_engine, password_hash, tenants):
    acme = tenants[0]
    add_agent(gateway_engine, password_hash, acme, "ben@acme.example")
    admin = gateway_app.test_client()
    console_login(admin, acme.email)
    page = admin.get("/agent/team")
    assert b'id="sms-updates"' in page.data and b'id="sms-updates" checked' not in page.data
    on = admin.post("/agent/team/settings", data={"csrf_token": csrf_of(page), "sms_updates": "on"})
    assert on.status_code == 303 and "done=sms-on" in on.headers["Location"]
    assert sms_setting(gateway_engine, acme) is True
    assert b'id="sms-updates" checked' in admin.get("/agent/team").data
    off = admin.post("/agent/team/settings", data={"csrf_token": csrf_of(page)})
    assert off.status_code == 303 and sms_setting(gateway_engine, acme) is False
    assert admin.post("/agent/team/settings", data={"sms_updates": "on"}).status_code in (400, 403)  # no CSRF token

    # The reopen window on the same form: a wrong value is a 422 page naming it, and changes nothing.
    for wrong in ("0", "366", "soon", ""):
        refused = admin.post("/agent/team/settings", data={"csrf_token": csrf_of(page), "reopen_window_days": wrong})
        assert refused.status_code == 422 and b'id="reopen-window-error"' in refused.data, wrong
    assert client_settings(gateway_engine, acme).get("reopen_window_days") is None and sms_setting(gateway_engine, acme) is False
    kept = admin.post("/agent/team/settings", data={"csrf_token": csrf_of(page), "sms_updates": "on", "reopen_window_days": "0"})
    assert kept.status_code == 422 and b'id="sms-updates" checked' in kept.data  # shown as posted, not stored
    assert sms_setting(gateway_engine, acme) is False
    saved = admin.post("/agent/team/settings", data={"csrf_token": csrf_of(page), "reopen_window_days": " 30 "})
    assert saved.status_code == 303 and client_settings(gateway_engine, acme)["reopen_window_days"] == 30
    shown = admin.get(saved.headers["Location"]).data
    assert b'value="30"' in shown and b"SMS updates off; a customer&#39;s message on a ticket closed more than 30 days" in shown

    agent = gateway_app.test_client()
    console_login(agent, "ben@acme.example")
    refused = agent.get("/agent/team")
    assert refused.status_code == 403 and b"sms-updates" not in refused.data
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', agent.get("/agent/tickets").data.decode()).group(1)
    posted = agent.post("/agent/team/settings", data={"csrf_token": csrf, "sms_updates": "on"})
    assert posted.status_code == 403 and sms_setting(gateway_engine, acme) is False
