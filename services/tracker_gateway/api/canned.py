"""Canned replies (`/api/canned-replies`): personal or shared texts with placeholders, checked when
saved (accounts/placeholders.py) and filled for one ticket by `POST .../<id>/render`."""
import uuid

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, fields

from services.tracker_gateway.accounts import placeholders, saved
from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.library import add_crud
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core import db
from services.tracker_gateway.core.rpc import tickets

bp = Blueprint("api_canned", __name__, url_prefix="/api/canned-replies")

add_crud(bp, "canned replies", saved.CannedReply, saved.CannedInputSchema, saved.CannedSchema, saved.dump_canned,
         "canned replies", "reply_id")


class RenderInputSchema(Schema):
    ticket = fields.String(required=True, metadata={"description": "the ticket's id or number", "example": "TKT-00042"})


class RenderedSchema(Schema):
    text = fields.String(metadata={"description": "for a plain-text reply box, values as written"})
    html = fields.String(metadata={"description": "the same, HTML-escaped (text and values)"})


RENDER_INPUT = RenderInputSchema()


def placeholder_values(ticket, principal):
    agent = db.session().get(Agent, uuid.UUID(principal.agent_id))
    email = ticket.get("customer_email")
    base_url = current_app.config["PUBLIC_BASE_URL"]
    return {
        "customer_name": ticket.get("customer_name"),
        "ticket_number": ticket["ticket_number"],
        "agent_name": agent.name if agent else principal.email,
        "tracking_link": current_app.extensions["tracking_links"].url(base_url, ticket["ticket_number"], email, ticket.get("client_id")) if email else None,
    }


@bp.post("/<uuid:reply_id>/render")
@documented("canned replies", body=RenderInputSchema, responses={200: ("The filled-in reply", RenderedSchema)})
@login_required
def render(reply_id):
    """A canned reply filled in for one ticket: customer name, ticket number, the agent's name, the tracking link."""
    data = schemas.load(RENDER_INPUT, request.get_json(silent=True))
    reply = saved.find(db.session(), saved.CannedReply, reply_id, g.principal)
    ticket = tickets().get_ticket(data["ticket"], client_id=g.principal.client_id)
    values = placeholder_values(ticket, g.principal)
    return jsonify({"text": placeholders.render(reply.body, values),
                    "html": placeholders.render(reply.body, values, escape=True)})
