"""The agent API's SLA surface: the client's SLA policy (targets per priority and business-hours calendar),
readable by every agent, changed by admins only (accounts/roles.py: the role as the database has it now). The tickets service stores and validates it."""
from flask import Blueprint, g, jsonify, request

from services.tracker_gateway.accounts.roles import admin_required
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core.rpc import tickets
from shared.contracts.exceptions import ValidationError

bp = Blueprint("api_sla", __name__, url_prefix="/api/sla")


@bp.get("")
@documented("sla", responses={200: ("The client's SLA policy", schemas.SlaPolicySchema)})
@login_required
def get_sla():
    """The client's SLA policy: first response and resolution targets per priority, in business minutes of its
    calendar (24/7 in UTC until an admin sets one)."""
    return jsonify(tickets().get_sla(g.principal.client_id))


@bp.put("")
@documented("sla", body=schemas.SlaPolicyInputSchema, responses={200: ("The policy as saved", schemas.SlaPolicySchema)})
@admin_required
def put_sla():
    """Replace the client's SLA policy (admins only). New tickets and priority changes use it; priorities
    left out keep the defaults (urgent 1 h / 8 h, high 4 h / 24 h, medium 8 h / 48 h, low 24 h / 120 h)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError({"_body": ["A JSON object is required."]})
    # Validated once, by the tickets service (sla.parse_policy), which names a failing part by its dotted path.
    return jsonify(tickets().put_sla(g.principal.client_id, data, actor=g.principal.email))
