"""The console's browser session and its CSRF protection.

Signing in keeps the login's refresh token in an HttpOnly, SameSite=Strict cookie limited to /agent,
as the browser's session handle; a page asks `POST /agent/session` for a 15-minute access token,
keeps it in memory and calls the API with it as a bearer token, like any other client. The cookie's
token is not rotated on each use (a response lost to a navigation would otherwise look like a
stolen token and end the login); signing out revokes it. Every POST under /agent needs the CSRF
token (double-submit: the page's copy must match the CSRF cookie) and, when the browser sends one,
a same-origin Origin header.
"""
import functools
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response, current_app, g, make_response, redirect, request, url_for

from services.tracker_gateway.accounts import tokens
from services.tracker_gateway.accounts.models import Agent, Client
from services.tracker_gateway.core import db
from services.tracker_gateway.core.errors import Forbidden

SESSION_COOKIE = "deskline_session"
CSRF_COOKIE = "deskline_csrf"
COOKIE_PATH = "/agent"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class ConsoleAgent:
    """The signed-in agent as pages show it."""

    id: str
    name: str
    email: str
    role: str
    client_id: str
    client_name: str


# -- the session cookie --

def live_login():
    """This browser's login (its refresh token row) if it still counts. The cookie's token is never
    exchanged through the API's refresh (the page cannot read it): if it was, it was copied, and
    tokens.live_refresh_token ends the whole login, as the API does for a reused refresh token."""
    return tokens.live_refresh_token(db.session(), request.cookies.get(SESSION_COOKIE))


def console_agent(agent_id):
    found = db.session().execute(
        sa.select(Agent, Client).join(Client, Agent.client_id == Client.id).where(Agent.id == agent_id)
    ).one_or_none()
    if found is None or not found.Agent.active:
        return None
    agent, client = found
    return ConsoleAgent(str(agent.id), agent.shown_name, agent.email, agent.role, str(client.id), client.name)


def session_agent():
    """The agent whose login this browser holds, or None."""
    row = live_login()
    return console_agent(row.agent_id) if row else None


def _secure_cookies():
    return current_app.config["PUBLIC_BASE_URL"].startswith("https://")


def set_session_cookie(response, refresh_token):
    response.set_cookie(SESSION_COOKIE, refresh_token, max_age=current_app.config["REFRESH_TOKEN_SECONDS"],
                        path=COOKIE_PATH, secure=_secure_cookies(), httponly=True, samesite="Strict")


def clear_session_cookie(response):
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
        raise Forbidden("This form has expired or came from another site; reload the page and try again.")


def page_response(body, status=200):
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
        result = view(*args, **kwargs)
        if isinstance(result, Response):  # a form's redirect
            return result
        return page_response(*result) if isinstance(result, tuple) else page_response(result)

    return wrapper
