"""The console's SLA settings page: the client's targets per priority and its business-hours calendar.
Every agent sees them; only admins get the form that changes them (PUT /api/sla refuses the others)."""
from flask import Blueprint, g, render_template

from services.tracker_gateway.console import session
from shared.contracts.enums import TICKET_PRIORITIES
from shared.contracts.sla_schemas import WEEKDAYS

bp = Blueprint("agent_sla", __name__)

DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))


@bp.get("/agent/sla")
@session.agent_page
def settings():
    """SLA targets and business hours (static/console/sla_settings.js loads and saves them through /api/sla)."""
    return render_template("console/sla.html", active_nav="sla", is_admin=g.console_agent.role == "admin",
                           priorities=list(reversed(TICKET_PRIORITIES)), days=list(DAY_NAMES.items()))
