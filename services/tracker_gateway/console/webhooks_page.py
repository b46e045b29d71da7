"""The console's Webhooks page (admins): the client's endpoints, a form to add one (its secret shown once),
each endpoint's deliveries log with "send again", and "send a test event". The page's script works through
/api/webhooks; agents get a page saying it is not theirs (and no entry in the navigation)."""
from flask import Blueprint, g, render_template

from services.tracker_gateway.console import session
from shared.contracts.webhook_schemas import DELIVERED_EVENTS, PATTERNS

bp = Blueprint("agent_webhooks", __name__)


@bp.get("/agent/webhooks")
@session.agent_page
def index():
    """Webhooks for admins (static/console/webhooks.js); a 403 page for agents."""
    if g.console_agent.role != "admin":
        return render_template("console/webhooks.html", active_nav="webhooks", forbidden=True), 403
    return render_template("console/webhooks.html", active_nav="webhooks", forbidden=False,
                           patterns=[pattern for pattern in PATTERNS if pattern != "*"],
                           event_names=sorted(DELIVERED_EVENTS))
