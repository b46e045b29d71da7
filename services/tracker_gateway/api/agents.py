"""The team API (admins only): the client's agents, invitations, role changes and deactivation."""
import uuid

from flask import Blueprint, current_app, g, jsonify, request

from services.tracker_gateway.accounts import directory, mailer, team
from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.roles import admin_required
from services.tracker_gateway.api import agents_schemas as schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.api.schemas import load
from services.tracker_gateway.core import db
from services.tracker_gateway.core.errors import error_response
from shared.contracts.exceptions import NotFound

bp = Blueprint("api_agents", __name__, url_prefix="/api/agents")

CONFLICT = {409: ("Refused for the state it would leave (the message says why)", schemas.ConflictSchema)}


@bp.errorhandler(team.TeamError)
def refused(exc):
    return error_response(409, "conflict", exc.reason, {exc.field or "_body": [exc.reason]})


def _agent_id(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("agent") from None


def _client_id():
    return uuid.UUID(g.principal.client_id)


def publish(client_id):
    directory.announce(db.session(), current_app.config, client_id)


def invitation(session, agent, token, expires_at, request_id=None):
    inviter = session.get(Agent, uuid.UUID(g.principal.agent_id))
    sent = mailer.send_now(session, mailer.INVITATION, agent, token, expires_at,
                           inviter.shown_name if inviter else None, request_id)
    return {"sent": sent, "expires_at": expires_at.isoformat()}


@bp.get("")
@documented("agents", responses={200: ("The client's agents, active ones first", schemas.TeamSchema)})
@admin_required
def list_agents():
    """The client's agents: name, e-mail, role, status, last seen."""
    return jsonify({"items": [team.agent_view(agent) for agent in team.list_agents(db.session(), _client_id())]})


@bp.post("")
@documented("agents", body=schemas.AgentInviteSchema, headers=({
    "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
    "description": "names the invitation e-mail: a retry with the same key sends no second one"},),
    responses={201: ("Invited: the agent, and whether the e-mail went out", schemas.InvitedAgentSchema),
               **CONFLICT})
@admin_required
def invite():
    """Invite an agent by e-mail: {email, name, role} -> 201; the e-mail carries a single-use link to
    choose a password, valid INVITATION_TTL_SECONDS."""
    data = load(schemas.INVITE, request.get_json(silent=True))
    session, client_id = db.session(), _client_id()
    agent, token, expires_at = team.invite(session, client_id, data["email"], data["name"], data["role"],
                                           current_app.config["INVITATION_TTL_SECONDS"])
    session.commit()
    publish(client_id)
    request_id = _request_id(request.headers.get("Idempotency-Key"))
    return jsonify({**team.agent_view(agent), "invitation": invitation(session, agent, token, expires_at, request_id)}), 201


def _request_id(key):
    # The notifier names a delivery by a UUID: a client's key is mapped to one, the same for each retry.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"deskline:invitation:{key}")) if key else None


@bp.post("/<agent_id>/invitation")
@documented("agents", responses={200: ("A new link is on its way; the previous one no longer works",
                                       schemas.InvitationSchema), **CONFLICT})
@admin_required
def reinvite(agent_id):
    """Send a pending invitation again (a new link; the older one stops working)."""
    session = db.session()
    found = team.reinvite(session, _client_id(), _agent_id(agent_id), current_app.config["INVITATION_TTL_SECONDS"])
    if found is None:
        raise NotFound("agent")
    session.commit()
    return jsonify(invitation(session, *found))


@bp.patch("/<agent_id>")
@documented("agents", body=schemas.AgentChangeSchema, responses={
    200: ("The agent as changed", schemas.TeamAgentSchema), **CONFLICT})
@admin_required
def change(agent_id):
    """Change an agent's role or deactivate (or reactivate) them: {role?, active?}. Deactivating ends
    every session and token of the agent at once; the last active admin cannot be demoted or deactivated."""
    data = load(schemas.CHANGE, request.get_json(silent=True))
    session, client_id = db.session(), _client_id()
    agent = team.change(session, current_app.extensions["redis"], current_app.config, client_id, _agent_id(agent_id),
                        role=data.get("role"), active=data.get("active"))
    if agent is None:
        raise NotFound("agent")
    publish(client_id)
    return jsonify(team.agent_view(agent))
