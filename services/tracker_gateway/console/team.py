"""The console's account pages: the team (admins: list, invite, change role, deactivate), each
agent's profile (display name, e-mail preferences, password), and the pages an e-mailed link opens
(accept an invitation, choose a new password) with the "forgot password" form.

Plain HTML forms (POST, CSRF token, then a redirect): the same rules as the API (accounts/team.py).
"""
import hashlib
import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from services.tracker_gateway.accounts import directory, links, mailer
from services.tracker_gateway.accounts import team as accounts_team
from services.tracker_gateway.accounts.models import ADMIN, ROLES, Agent
from services.tracker_gateway.accounts.tokens import token_pair, void_agent_tokens
from services.tracker_gateway.api.agents_schemas import INVITE
from services.tracker_gateway.api.client import SETTINGS as CLIENT_SETTINGS
from services.tracker_gateway.console import session
from services.tracker_gateway.core import db, ratelimit
from services.tracker_gateway.core.errors import TooManyAttempts, too_many_message
from services.tracker_gateway.core.net import client_ip

bp = Blueprint("agent_team", __name__)

DONE = {
    "invited": "Invitation sent.", "invited-unsent": "Invited, but the e-mail could not be sent now: send it again.",
    "resent": "A new invitation is on its way; the previous link no longer works.",
    "role": "Role changed.", "deactivated": "Deactivated: their sessions and tokens no longer work.",
    "reactivated": "Reactivated: they can sign in again.",
    "profile": "Profile saved.", "password": "Password changed.",
    "sms-on": "SMS updates on: customers with a phone number are texted when their ticket is created and resolved.",
    "sms-off": "SMS updates off.",
    "settings": "Saved. SMS updates {sms}; a customer's message on a ticket closed more than {days} days ago opens "
                "a new ticket.",
}
FORGOT_SENT = "If an account uses this address, we have sent it a link to choose a new password. It works for an hour."
LINK_GONE = {
    links.INVITE: "This invitation has expired or was already used. Ask an admin of your team to send a new one.",
    links.RESET: "This link has expired or was already used. Ask for a new one below.",
}


def _form(field):
    return (request.form.get(field) or "").strip()


def _publish():
    directory.announce(db.session(), current_app.config, uuid.UUID(g.console_agent.client_id))


def _me():
    return db.session().get(Agent, uuid.UUID(g.console_agent.id))


# -- the team (admins) --

def _team_page(status=200, error=None, form=None, settings_error=None):
    """The page as a (body, status) pair; agents get a 403 page saying why."""
    if g.console_agent.role != ADMIN:
        return render_template("console/team.html", active_nav="team", forbidden=True), 403
    client_id = uuid.UUID(g.console_agent.client_id)
    agents = accounts_team.list_agents(db.session(), client_id)
    settings = directory.client_settings(db.session(), client_id)
    return render_template("console/team.html", active_nav="team", agents=agents, roles=ROLES, error=error,
                           form=form or {}, done=_done(settings),
                           # A refused post is shown as the admin left it, not as stored.
                           sms_updates=(request.form.get("sms_updates") == "on" if settings_error
                                        else bool(settings["sms_updates"])), settings_error=settings_error,
                           reopen_window_days=request.form.get("reopen_window_days", settings["reopen_window_days"]),
                           status_of=accounts_team.status_of), status


def _done(settings):
    """The confirmation named by ?done=, the saved settings filled in."""
    message = DONE.get(request.args.get("done"))
    return message and message.format(sms="on" if settings["sms_updates"] else "off", days=settings["reopen_window_days"])


@bp.get("/agent/team")
@session.agent_page
def team_page():
    """The client's agents, and the invitation form (admins only)."""
    return _team_page()


@bp.post("/agent/team/invite")
@session.agent_page
def invite():
    """Invite an agent by e-mail; they choose their password through the e-mailed link."""
    session.check_csrf()
    if g.console_agent.role != ADMIN:
        return _team_page()
    form = {"email": _form("email").lower(), "name": _form("name"), "role": _form("role") or "agent"}
    errors = INVITE.validate(form)
    if errors:
        return _team_page(422, " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()), form)
    db_session, client_id = db.session(), uuid.UUID(g.console_agent.client_id)
    try:
        agent, token, expires_at = accounts_team.invite(db_session, client_id, form["email"], form["name"],
                                                        form["role"], current_app.config["INVITATION_TTL_SECONDS"])
    except accounts_team.TeamError as exc:
        return _team_page(409, exc.reason, form)
    db_session.commit()
    _publish()
    sent = mailer.send_now(db_session, mailer.INVITATION, agent, token, expires_at, g.console_agent.name)
    return redirect(url_for("agent_team.team_page", done="invited" if sent else "invited-unsent"), 303)


@bp.post("/agent/team/<agent_id>")
@session.agent_page
def change(agent_id):
    """One agent's change from the team page: role, deactivate, reactivate, or resend the invitation."""
    session.check_csrf()
    if g.console_agent.role != ADMIN:
        return _team_page()
    try:
        target = uuid.UUID(agent_id)
    except ValueError:
        abort(404)
    db_session, client_id = db.session(), uuid.UUID(g.console_agent.client_id)
    action = request.form.get("action")
    try:
        if action == "resend":
            found = accounts_team.reinvite(db_session, client_id, target, current_app.config["INVITATION_TTL_SECONDS"])
            if found is None:
                abort(404)
            db_session.commit()
            sent = mailer.send_now(db_session, mailer.INVITATION, *found, g.console_agent.name)
            return redirect(url_for("agent_team.team_page", done="resent" if sent else "invited-unsent"), 303)
        if action == "role" and request.form.get("role") in ROLES:
            changes, done = {"role": request.form["role"]}, "role"
        elif action in ("deactivate", "reactivate"):
            changes, done = {"active": action == "reactivate"}, f"{action}d"
        else:
            return _team_page(422, "Choose a role, or deactivate or reactivate.")
        agent = accounts_team.change(db_session, current_app.extensions["redis"], current_app.config, client_id,
                                     target, **changes)
    except accounts_team.TeamError as exc:
        db_session.rollback()
        return _team_page(409, exc.reason)
    if agent is None:
        abort(404)
    _publish()
    if str(agent.id) == g.console_agent.id and not agent.active:
        return redirect(url_for("agent_ui.login"), 303)
    return redirect(url_for("agent_team.team_page", done=done), 303)


@bp.post("/agent/team/settings")
@session.agent_page
def client_settings():
    """The client's settings for its customers (admins), as PATCH /api/client/settings checks them: SMS
    updates on or off, and the days a closed ticket can be reopened."""
    session.check_csrf()
    if g.console_agent.role != ADMIN:
        return _team_page()
    sms_updates = request.form.get("sms_updates") == "on"
    form = {"sms_updates": sms_updates}
    if "reopen_window_days" in request.form:  # a post without it (an older page) leaves the window as it is
        form["reopen_window_days"] = request.form["reopen_window_days"].strip()
    try:
        changes = CLIENT_SETTINGS.load(form)
    except ValidationError as invalid:
        return _team_page(422, settings_error=" ".join(invalid.messages.get("reopen_window_days", ["Not valid."])))
    db_session = db.session()
    client = accounts_team.lock_client(db_session, uuid.UUID(g.console_agent.client_id))
    client.settings = {**(client.settings or {}), **changes}
    db_session.commit()
    _publish()
    done = "settings" if "reopen_window_days" in changes else "sms-on" if sms_updates else "sms-off"
    return redirect(url_for("agent_team.team_page", done=done), 303)


# -- every agent's profile --

def _profile_page(status=200, error=None, password_error=None):
    return render_template("console/profile.html", active_nav="profile", me=_me(), error=error,
                           password_error=password_error, done=DONE.get(request.args.get("done")),
                           password_min=accounts_team.PASSWORD_MIN), status


@bp.get("/agent/profile")
@session.agent_page
def profile_page():
    """The signed-in agent's display name, e-mail preferences and password."""
    return _profile_page()


@bp.post("/agent/profile")
@session.agent_page
def profile_save():
    """Save the display name and e-mail preferences (the notifier hears of them through the directory)."""
    session.check_csrf()
    name = _form("display_name")
    if len(name) > 200 or "\x00" in name:
        return _profile_page(422, "Use at most 200 characters for your name.")
    me = _me()
    accounts_team.update_profile(db.session(), me, display_name=name, notify={
        kind: request.form.get(f"notify_{kind}") == "on" for kind in ("customer_messages", "assignments")})
    db.session().commit()
    _publish()
    return redirect(url_for("agent_team.profile_page", done="profile"), 303)


@bp.post("/agent/profile/password")
@session.agent_page
def password_save():
    """Change the password: the current one is required."""
    session.check_csrf()
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return _profile_page(422, password_error="The two new passwords differ.")
    try:
        accounts_team.change_password(db.session(), _me(), request.form.get("current_password", ""), new)
    except accounts_team.TeamError as exc:
        return _profile_page(422, password_error=exc.reason)
    db.session().commit()
    return redirect(url_for("agent_team.profile_page", done="password"), 303)


# -- pages an e-mailed link opens, and "forgot password" (nobody is signed in) --

def _public_page(template, status=200, **context):
    body = render_template(template, csrf_token=session.csrf_token(), password_min=accounts_team.PASSWORD_MIN,
                           **context)
    return session.page_response(body, status)


def _new_password_problem():
    password = request.form.get("password", "")
    if password != request.form.get("confirm_password", ""):
        return "The two passwords differ."
    return accounts_team.password_problem(password)


def _link_gone(purpose):
    return _public_page("console/link_gone.html", 410, message=LINK_GONE[purpose], purpose=purpose)


def _link_page(purpose, token, template, status=200, **context):
    found = links.find(db.session(), token, purpose)
    if found is None:
        return _link_gone(purpose)
    return _public_page(template, status, token=token, agent=found[1], **context)


@bp.get("/agent/invitation/<token>")
def invitation_page(token):
    """Accept an invitation: your name and a password (the link works once, until it expires)."""
    return _link_page(links.INVITE, token, "console/accept.html")


@bp.post("/agent/invitation/<token>")
def invitation_accept(token):
    """Set the name and password, use up the link, and sign in."""
    if not session.csrf_ok():
        return _link_page(links.INVITE, token, "console/accept.html", 403, error="The form had expired. Please try again.")
    name = _form("name")
    problem = "Enter your name (at most 200 characters)." if not name or len(name) > 200 else _new_password_problem()
    if problem:
        return _link_page(links.INVITE, token, "console/accept.html", 422, error=problem, name=name)
    db_session = db.session()
    agent = links.consume(db_session, token, links.INVITE)
    if agent is None:
        return _link_gone(links.INVITE)
    accounts_team.set_password_from_link(db_session, agent, request.form["password"], name)
    accounts_team.mark_seen(db_session, agent)
    pair = token_pair(db_session, agent, current_app.config)
    db_session.commit()
    directory.announce(db_session, current_app.config, agent.client_id)
    response = redirect(url_for("agent_ui.tickets_page"), 303)
    session.set_session_cookie(response, pair["refresh_token"])
    return response


def _forgot_limits(email):
    config = current_app.config
    window = config["PASSWORD_RESET_WINDOW_SECONDS"]
    digest = hashlib.sha256(email.encode()).hexdigest()
    return (ratelimit.Limit(f"reset:ip:{client_ip()}", config["PASSWORD_RESETS_PER_IP"], window),
            ratelimit.Limit(f"reset:email:{digest}", config["PASSWORD_RESETS_PER_EMAIL"], window))


@bp.get("/agent/forgot-password")
def forgot_page():
    """Ask for a link to choose a new password."""
    return _public_page("console/forgot.html")


@bp.post("/agent/forgot-password")
def forgot_submit():
    """The same answer whether or not the address has an account; on a match the link is e-mailed
    (from a thread, after the answer is decided). Limited per address and per e-mail."""
    email = _form("email").lower()
    if not session.csrf_ok():
        return _public_page("console/forgot.html", 403, email=email, error="The form had expired. Please try again.")
    if not email or len(email) > 254 or "\x00" in email:
        return _public_page("console/forgot.html", 422, email=email, error="Enter your e-mail address.")
    try:
        ratelimit.hit(*_forgot_limits(email))
    except TooManyAttempts as exc:
        response = _public_page("console/forgot.html", 429, email=email, error=too_many_message(exc.retry_after))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    db_session = db.session()
    agent = db_session.scalars(sa.select(Agent).where(Agent.email == email, Agent.active)).one_or_none()
    if agent is not None:
        token, expires_at = links.issue(db_session, agent, links.RESET, current_app.config["PASSWORD_RESET_TTL_SECONDS"])
        db_session.commit()
        mailer.send_in_background(db_session, mailer.PASSWORD_RESET, agent, token, expires_at)
    return _public_page("console/forgot.html", sent=FORGOT_SENT)


@bp.get("/agent/reset-password/<token>")
def reset_page(token):
    """Choose a new password (the link works once, for an hour)."""
    return _link_page(links.RESET, token, "console/reset.html")


@bp.post("/agent/reset-password/<token>")
def reset_submit(token):
    """Set the new password, use up the link, end every other session of the agent, then sign in."""
    if not session.csrf_ok():
        return _link_page(links.RESET, token, "console/reset.html", 403, error="The form had expired. Please try again.")
    problem = _new_password_problem()
    if problem:
        return _link_page(links.RESET, token, "console/reset.html", 422, error=problem)
    db_session = db.session()
    agent = links.consume(db_session, token, links.RESET)
    if agent is None:
        return _link_gone(links.RESET)
    accounts_team.set_password_from_link(db_session, agent, request.form["password"])
    db_session.commit()
    void_agent_tokens(agent.id, current_app.extensions["redis"], current_app.config)
    return redirect(url_for("agent_ui.login", reset=1), 303)
