"""The agent console's pages: sign in and out, the session that hands pages their access tokens,
the tickets dashboard, and the layout other console pages (chats) extend.

Authentication (docs/ui.md): signing in keeps the login's refresh token in an HttpOnly, SameSite=Strict
cookie limited to /agent, as the browser's session handle; a page asks `POST /agent/session` for a
15-minute access token, keeps it in memory and calls the ticket API with it as a bearer token, like
any other client. The cookie's token is not rotated on each use (a response lost to a navigation
would otherwise look like a stolen token and end the login); signing out revokes it. Every POST under
/agent needs the CSRF token (double-submit: the page's copy must match the CSRF cookie) and, when the
browser sends one, a same-origin Origin header.
"""
import functools
import hmac
import math
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, make_response, redirect, render_template, request, url_for

from services.tracker_gateway.accounts import auth
from services.tracker_gateway.accounts.models import Agent, Client, RefreshToken
from services.tracker_gateway.api import schemas
from services.tracker_gateway.core import db
from services.tracker_gateway.core.net import client_ip
from shared.contracts.enums import TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES

bp = Blueprint("agent_ui", __name__)

SESSION_COOKIE = "deskline_session"
CSRF_COOKIE = "deskline_csrf"
COOKIE_PATH = "/agent"
CSRF_HEADER = "X-CSRF-Token"

SORTS = (
    ("-created_at", "Newest first"), ("created_at", "Oldest first"), ("-updated_at", "Last updated"),
    ("-priority", "Most urgent"), ("status", "Status"), ("-ticket_number", "Number"), ("title", "Title A-Z"),
)


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    endpoint: str


# The console's sections. A section appears as a link once its endpoint is registered (chats:
# a view named `agent_chats.index`), as a greyed placeholder until then.
NAV = [NavItem("tickets", "Tickets", "agent_ui.tickets_page"), NavItem("chats", "Chats", "agent_chats.index")]


@dataclass(frozen=True)
class ConsoleAgent:
    """The signed-in agent as pages show it."""

    id: str
    name: str
    email: str
    role: str
    client_id: str
    client_name: str


def label(value):
    """'in_progress' -> 'In progress' (enum values as people read them)."""
    return value.replace("_", " ").capitalize()


# -- the session cookie --

def _now():
    return datetime.now(timezone.utc)


def _login_row(token):
    """The refresh token row of this cookie, whatever its state, or None."""
    if not token:
        return None
    return db.session().scalars(
        sa.select(RefreshToken).where(RefreshToken.token_hash == auth._token_hash(token))  # as auth stores it
    ).one_or_none()


def _live_login(token):
    """The cookie's login if it still counts: not expired, not revoked. A token that was exchanged
    through the API's refresh (which the page never does: it cannot read the cookie) was copied:
    that ends the whole login, as the API does for a reused refresh token."""
    row = _login_row(token)
    if row is None or row.expires_at <= _now():
        return None
    if row.revoked_at is not None:
        if row.revoked_reason == "rotated":
            auth._revoke_family(db.session(), row.family_id, "reuse")
            db.session().commit()
        return None
    return row


def _console_agent(agent_id):
    found = db.session().execute(
        sa.select(Agent, Client).join(Client, Agent.client_id == Client.id).where(Agent.id == agent_id)
    ).one_or_none()
    if found is None or not found.Agent.active:
        return None
    agent, client = found
    return ConsoleAgent(str(agent.id), agent.name, agent.email, agent.role, str(client.id), client.name)


def session_agent():
    """The agent whose login this browser holds, or None."""
    row = _live_login(request.cookies.get(SESSION_COOKIE))
    return _console_agent(row.agent_id) if row else None


def _secure_cookies():
    return current_app.config["PUBLIC_BASE_URL"].startswith("https://")


def _set_session_cookie(response, refresh_token):
    response.set_cookie(SESSION_COOKIE, refresh_token, max_age=current_app.config["REFRESH_TOKEN_SECONDS"],
                        path=COOKIE_PATH, secure=_secure_cookies(), httponly=True, samesite="Strict")


def _clear_session_cookie(response):
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, secure=_secure_cookies(), httponly=True, samesite="Strict")


# -- CSRF: double-submit token, plus the Origin header when there is one --

def csrf_token():
    """This browser's CSRF token (a new one, set as a cookie with the page, if it has none)."""
    if "csrf_token" not in g:
        current = request.cookies.get(CSRF_COOKIE, "")
        g.csrf_token = current if 32 <= len(current) <= 64 else secrets.token_urlsafe(32)
    return g.csrf_token


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def csrf_ok():
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        return False
    origin = request.headers.get("Origin")
    # Absent on some same-origin requests of older browsers: the token alone decides then.
    return origin is None or origin in {_origin(request.host_url), _origin(current_app.config["PUBLIC_BASE_URL"])}


def check_csrf():
    if not csrf_ok():
        raise auth.Forbidden("This form has expired or came from another site; reload the page and try again.")


def _page_response(body, status=200):
    """A console page: never cached (it names the agent and carries the CSRF token)."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    token = csrf_token()
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, max_age=current_app.config["REFRESH_TOKEN_SECONDS"], path=COOKIE_PATH,
                            secure=_secure_cookies(), httponly=True, samesite="Strict")
    return response


def agent_page(view):
    """A console page: runs with `g.console_agent`, or sends the browser to sign in first."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        agent = session_agent()
        if agent is None:
            return redirect(url_for("agent_ui.login", next=request.full_path.rstrip("?")), 303)
        g.console_agent = agent
        return _page_response(view(*args, **kwargs))

    return wrapper


@dataclass(frozen=True)
class Console:
    agent: ConsoleAgent
    csrf_token: str
    nav: list


@bp.app_context_processor
def console_context():
    """`console` (agent, csrf_token, nav) for every page rendered by an `agent_page` view."""
    if "console_agent" not in g:
        return {}
    nav = [{"key": item.key, "label": item.label,
            "href": url_for(item.endpoint) if item.endpoint in current_app.view_functions else None} for item in NAV]
    return {"console": Console(g.console_agent, csrf_token(), nav)}


# -- pages --

def _safe_next(value):
    """Only a console page of this site: never another host (an open redirect)."""
    if value and value.startswith("/agent/") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("agent_ui.tickets_page")


def _login_page(status=200, **context):
    context.setdefault("next", _safe_next(request.values.get("next")))
    return _page_response(render_template("console/login.html", csrf_token=csrf_token(), **context), status)


@bp.get("/agent")
@bp.get("/agent/")
def home():
    """The console opens on the tickets."""
    return redirect(url_for("agent_ui.tickets_page"))


@bp.get("/agent/login")
def login():
    """The sign-in form (a signed-in agent goes straight on)."""
    if session_agent() is not None:
        return redirect(_safe_next(request.args.get("next")), 303)
    return _login_page(signed_out=request.args.get("signed_out") == "1")


@bp.post("/agent/login")
def login_submit():
    """Check the e-mail and password (throttled like the API's login), then keep the login in the cookie."""
    email, password = request.form.get("email", ""), request.form.get("password", "")
    if not csrf_ok():
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
        pair = auth.login(email, password, client_ip())
    except auth.Unauthorized:
        return _login_page(401, email=email, error="Wrong e-mail address or password.")
    except auth.TooManyAttempts as exc:
        minutes = math.ceil(exc.retry_after / 60)
        response = _login_page(429, email=email, error=f"Too many failed attempts. Try again in {minutes} minute{'s' * (minutes != 1)}.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    response = redirect(_safe_next(request.form.get("next")), 303)
    _set_session_cookie(response, pair["refresh_token"])
    return response


@bp.post("/agent/session")
def session_token():
    """A fresh access token for the page (JSON), for the login the cookie holds."""
    check_csrf()
    row = _live_login(request.cookies.get(SESSION_COOKIE))
    agent = db.session().get(Agent, row.agent_id) if row else None
    if agent is None or not agent.active:
        response = make_response(jsonify({"error": "unauthorized", "message": "Please sign in again."}), 401)
        _clear_session_cookie(response)
        return response
    config = current_app.config
    response = make_response(jsonify({
        "access_token": auth.issue_access_token(agent, config), "token_type": "Bearer",
        "expires_in": config["ACCESS_TOKEN_SECONDS"], "agent": asdict(_console_agent(agent.id)),
    }))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/agent/logout")
def logout():
    """End this login everywhere it was rotated to (the page revokes its access token through the API)."""
    check_csrf()
    token = request.cookies.get(SESSION_COOKIE)
    row = _login_row(token)
    if row is not None:
        auth.revoke_refresh_token(db.session(), token, str(row.agent_id))
    response = redirect(url_for("agent_ui.login", signed_out=1), 303)
    _clear_session_cookie(response)
    return response


@bp.get("/agent/tickets")
@agent_page
def tickets_page():
    """The tickets dashboard: filters, the list and the detail panel (filled by static/agent/tickets.js)."""
    agents = db.session().scalars(
        sa.select(Agent).where(Agent.client_id == g.console_agent.client_id, Agent.active).order_by(Agent.name)
    ).all()
    return render_template(
        "console/tickets.html", active_nav="tickets", agents=agents, filters=request.args,
        statuses=[(value, label(value)) for value in TICKET_STATUSES],
        priorities=[(value, label(value)) for value in TICKET_PRIORITIES],
        categories=[(value, label(value)) for value in TICKET_CATEGORIES],
        sorts=SORTS,
    )
