"""The agent console's Chats page (`/agent/chats`): the client's conversations with unread markers,
the thread, replies, assignment, closing and the "Create Ticket" dialog, live over the console's
event stream (its `chat` feed, console/feeds.py).

The page calls the agent chat API (api_chat.py) with the console's access token, like the tickets
page calls the ticket API.
"""
import sqlalchemy as sa
from flask import Blueprint, g, render_template

from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.console.pages import label
from services.tracker_gateway.console.session import agent_page
from services.tracker_gateway.core import db
from shared.contracts.enums import (
    TICKET_CATEGORIES,
    TICKET_PRIORITIES,
)

bp = Blueprint("agent_chats", __name__)

@bp.get("/agent/chats")
@agent_page
def index():
    """Conversations, newest activity first, and the open one's thread (templates/chat/agent.html, filled by static/chat/agent.js)."""
    agents = db.session().scalars(
        sa.select(Agent).where(Agent.client_id == g.console_agent.client_id, Agent.active).order_by(Agent.name)
    ).all()
    return render_template(
        "console/chats.html", active_nav="chats", agents=agents,
        priorities=[(value, label(value)) for value in TICKET_PRIORITIES],
        categories=[(value, label(value)) for value in TICKET_CATEGORIES],
    )
