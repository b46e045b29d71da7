"""Roles: `admin` manages the team and the client's shared settings; `agent` works the tickets.

`admin_required` guards an admin-only API view: 401 without a valid token (as `login_required`),
403 with a message saying why for an agent. The role is read from the database on each call, not
from the token, so a demotion takes effect at once rather than when the token expires.
"""
import functools
import uuid

from flask import g

from services.tracker_gateway.accounts.models import ADMIN, Agent
from services.tracker_gateway.accounts.tokens import current_principal
from services.tracker_gateway.core import db
from services.tracker_gateway.core.errors import Forbidden, Unauthorized

ADMIN_ONLY = "Only an admin of your team can do this; ask one of them."


def current_role(principal):
    """The agent's role now, or None if it is no longer an active agent of the token's client."""
    agent = db.session().get(Agent, uuid.UUID(principal.agent_id))
    if agent is None or not agent.active or str(agent.client_id) != principal.client_id:
        return None
    return agent.role


def is_admin(principal):
    return current_role(principal) == ADMIN


def admin_required(view):
    """The view runs with `g.principal`, an active admin of its client; 401 or 403 otherwise."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        principal = current_principal()
        role = current_role(principal)
        if role is None:
            raise Unauthorized("token revoked")
        if role != ADMIN:
            raise Forbidden(ADMIN_ONLY)
        g.principal = principal
        return view(*args, **kwargs)

    wrapper.requires_login = True  # the OpenAPI document's bearer requirement (api/openapi.py)
    wrapper.requires_admin = True  # and its 403
    return wrapper
