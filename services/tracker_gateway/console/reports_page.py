"""The console's Reports page: volume, response times, SLA attainment and satisfaction for a date range and
filters held in the URL. The page's script (static/console/reports.js) reads them through /api/reports, draws
the charts (Chart.js, installed by `make vendor`) and offers each table as CSV."""
import sqlalchemy as sa
from flask import Blueprint, g, render_template, request

from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.console import session
from services.tracker_gateway.console.pages import label
from services.tracker_gateway.core import db
from shared.contracts.enums import TICKET_CATEGORIES, TICKET_CHANNELS, TICKET_PRIORITIES
from shared.contracts.report_schemas import DEFAULT_DAYS, DIMENSIONS, MAX_DAYS

bp = Blueprint("agent_reports", __name__)

CHANNEL_LABELS = {"chat": "Chat", "email": "E-mail", "web": "Web form", "agent": "Agent (phone, walk-in)", "api": "API"}
CHART_SCRIPT = "vendor/chartjs-4.6.1/chart.umd.min.js"  # the Makefile's CHARTJS_VERSION


@bp.get("/agent/reports")
@session.agent_page
def page():
    """The Reports page (filled by static/console/reports.js from /api/reports)."""
    agents = db.session().scalars(
        sa.select(Agent).where(Agent.client_id == g.console_agent.client_id).order_by(Agent.name)).all()
    return render_template(
        "console/reports.html", active_nav="reports", filters=request.args, chart_script=CHART_SCRIPT,
        agents=agents, dimensions=DIMENSIONS, default_days=DEFAULT_DAYS, max_days=MAX_DAYS,
        priorities=[(value, label(value)) for value in TICKET_PRIORITIES],
        categories=[(value, label(value)) for value in TICKET_CATEGORIES],
        channels=[(value, CHANNEL_LABELS[value]) for value in TICKET_CHANNELS],
    )
