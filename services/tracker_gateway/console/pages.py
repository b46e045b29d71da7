"""The agent console's pages: sign in and out, the access tokens pages ask for, the tickets
dashboard, and the layout other console pages (chats) extend. The browser session and CSRF are in
console/session.py."""
import math
import uuid
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, make_response, redirect, render_template, request, url_for

from services.tracker_gateway.accounts import login as accounts_login
from services.tracker_gateway.accounts import team, tokens
from services.tracker_gateway.accounts.models import Agent, Client
from services.tracker_gateway.api import schemas
from services.tracker_gateway.console import session
from services.tracker_gateway.core import db
from services.tracker_gateway.core.errors import TooManyAttempts, Unauthorized
from services.tracker_gateway.core.net import client_ip
from shared.contracts.enums import TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES
from shared.contracts.message_schemas import ATTACHMENTS_BYTES_MAX, ATTACHMENTS_MAX

bp = Blueprint("agent_ui", __name__)

SORTS = (
    ("-created_at", "Newest first"), ("created_at", "Oldest waiting"), ("-updated_at", "Last updated"),
    ("-priority", "Most urgent"), ("sla_due_at", "SLA due soonest"), ("status", "Status"), ("-ticket_number", "Number"),
    ("title", "Title A-Z"),
)
SLA_FILTERS = (("breached", "Breached"), ("due_soon", "Due within 1 h"))


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    endpoint: str
    admin_only: bool = False


# The console's sections, in the order the navigation shows them (admin-only ones to admins alone).
NAV = [NavItem("tickets", "Tickets", "agent_ui.tickets_page"), NavItem("chats", "Chats", "agent_chats.index"),
       NavItem("reports", "Reports", "agent_reports.page"),
       NavItem("sla", "SLA", "agent_sla.settings", admin_only=True),
       NavItem("team", "Team", "agent_team.team_page", admin_only=True),
       NavItem("webhooks", "Webhooks", "agent_webhooks.index", admin_only=True)]


def label(value):
    """'in_progress' -> 'In progress' (enum values as people read them)."""
    return value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Console:
    agent: session.ConsoleAgent
    csrf_token: str
    nav: list


@bp.app_context_processor
def console_context():
    """`console` (agent, csrf_token, nav) for every page rendered by a `session.agent_page` view."""
    if "console_agent" not in g:
        return {}
    nav = [{"key": item.key, "label": item.label, "href": url_for(item.endpoint)} for item in NAV
           if g.console_agent.role == "admin" or not item.admin_only]
    return {"console": Console(g.console_agent, session.csrf_token(), nav)}


# -- pages --

def _safe_next(value):
    """Only a console page of this site: never another host (an open redirect)."""
    if value and value.startswith("/agent/") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("agent_ui.tickets_page")


def _login_page(status=200, **context):
    context.setdefault("next", _safe_next(request.values.get("next")))
    return session.page_response(render_template("console/login.html", csrf_token=session.csrf_token(), **context), status)


@bp.get("/agent")
@bp.get("/agent/")
def home():
    """The console opens on the tickets."""
    return redirect(url_for("agent_ui.tickets_page"))


@bp.get("/agent/login")
def login():
    """The sign-in form (a signed-in agent goes straight on)."""
    if session.session_agent() is not None:
        return redirect(_safe_next(request.args.get("next")), 303)
    return _login_page(signed_out=request.args.get("signed_out") == "1", password_reset=request.args.get("reset") == "1")


@bp.post("/agent/login")
def login_submit():
    """Check the e-mail and password (throttled like the API's login), then keep the login in the cookie."""
    email, password = request.form.get("email", ""), request.form.get("password", "")
    if not session.csrf_ok():
        return _login_page(403, email=email, error="The form had expired. Please sign in again.")
    errors = {}
    if not email.strip():
        errors["email"] = ["Enter your e-mail address."]
    if not password:
        errors["password"] = ["Enter your password."]
    if not errors:
        errors = schemas.LOGIN.validate({"email": email, "password": password})
    if errors:
        return _login_page(422, email=email, field_errors=errors)
    try:
        pair = accounts_login.login(email, password, client_ip())
    except Unauthorized:
        return _login_page(401, email=email, error="Wrong e-mail address or password.")
    except TooManyAttempts as exc:
        minutes = math.ceil(exc.retry_after / 60)
        response = _login_page(429, email=email, error=f"Too many failed attempts. Try again in {minutes} minute{'s' * (minutes != 1)}.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = redirect(_safe_next(request.form.get("next")), 303)
    session.set_session_cookie(response, pair["refresh_token"])
    return response


@bp.post("/agent/session")
def session_token():
    """A fresh access token for the page (JSON), for the login the cookie holds. `?probe=1` (the
    sign-in page asking whether this browser is still signed in) answers "no" with a 204, not a 401:
    a first visit shows no failed request."""
    session.check_csrf()
    row = session.live_login()
    agent = db.session().get(Agent, row.agent_id) if row else None
    if agent is None or not agent.active:
        if request.args.get("probe") == "1":
            response = make_response("", 204)
        else:
            response = make_response(jsonify({"error": "unauthorized", "message": "Please sign in again."}), 401)
        session.clear_session_cookie(response)
        return response
    if team.mark_seen(db.session(), agent):
        db.session().commit()
    config = current_app.config
    response = make_response(jsonify({
        "access_token": tokens.issue_access_token(agent, config), "token_type": "Bearer",
        "expires_in": config["ACCESS_TOKEN_SECONDS"], "agent": asdict(session.console_agent(agent.id)),
    }))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/agent/logout")
def logout():
    """End this login everywhere it was rotated to (the page revokes its access token through the API)."""
    session.check_csrf()
    token = request.cookies.get(session.SESSION_COOKIE)
    row = tokens.find_refresh_token(db.session(), token)
    if row is not None:
        tokens.revoke_refresh_token(db.session(), token, row.agent_id)
    response = redirect(url_for("agent_ui.login", signed_out=1), 303)
    session.clear_session_cookie(response)
    return response


@bp.get("/agent/tickets")
@session.agent_page
def tickets_page():
    """The tickets dashboard: filters, the list and the detail panel (filled by static/agent/tickets.js)."""
    everyone = db.session().scalars(
        sa.select(Agent).where(Agent.client_id == g.console_agent.client_id).order_by(Agent.name)
    ).all()
    # Deactivated agents can no longer be assigned, but their tickets still name them, as deactivated.
    agents = [agent for agent in everyone if agent.active]
    former_agents = [agent for agent in everyone if not agent.active]
    client = db.session().get(Client, uuid.UUID(g.console_agent.client_id))
    return render_template(
        "console/tickets.html", active_nav="tickets", agents=agents, former_agents=former_agents, filters=request.args,
        client_slug=client.slug,
        statuses=[(value, label(value)) for value in TICKET_STATUSES],
        priorities=[(value, label(value)) for value in TICKET_PRIORITIES],
        categories=[(value, label(value)) for value in TICKET_CATEGORIES],
        sorts=SORTS, sla_filters=SLA_FILTERS,
        attachments_max=ATTACHMENTS_MAX, attachments_bytes=ATTACHMENTS_BYTES_MAX,
    )
