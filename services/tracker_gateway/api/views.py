"""Saved views (`/api/views`: a name and the ticket list's URL query, personal or shared) and the
sidebar's queue counts (`GET /api/queues`), counted by the tickets service in one query."""
from flask import Blueprint, g, jsonify
from marshmallow import Schema, fields

from services.tracker_gateway.accounts import saved
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api.library import add_crud
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core import db
from services.tracker_gateway.core.rpc import tickets

bp = Blueprint("api_views", __name__, url_prefix="/api/views")
queues_bp = Blueprint("api_queues", __name__, url_prefix="/api/queues")

add_crud(bp, "views", saved.SavedView, saved.ViewInputSchema, saved.ViewSchema, saved.dump_view, "saved views", "view_id")


class QueueCountsSchema(Schema):
    mine = fields.Integer(metadata={"description": "open or in progress, assigned to the agent"})
    open = fields.Integer(metadata={"description": "open or in progress"})
    unassigned = fields.Integer(metadata={"description": "not resolved, nobody assigned"})
    pending = fields.Integer(metadata={"description": "waiting on the customer"})
    resolved_recently = fields.Integer(metadata={"description": "resolved or closed in the last 7 days"})


class ViewCountSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    query = fields.String()
    shared = fields.Boolean()
    count = fields.Integer(allow_none=True)


class QueuesSchema(Schema):
    queues = fields.Nested(QueueCountsSchema)
    views = fields.List(fields.Nested(ViewCountSchema))


@queues_bp.get("")
@documented("views", responses={200: ("The counts", QueuesSchema)})
@login_required
def queue_counts():
    """How many tickets each queue and each of the agent's saved views holds, counted in one query."""
    views = saved.visible(db.session(), saved.SavedView, g.principal)
    dumped = [saved.dump_view(view, g.principal) for view in views]
    counts = tickets().queue_counts(g.principal.client_id, g.principal.email,
                                    [{"id": view["id"], "filters": view["filters"]} for view in dumped])
    return jsonify({
        "queues": counts["queues"],
        "views": [{"id": view["id"], "name": view["name"], "query": view["query"], "shared": view["shared"],
                   "count": counts["views"].get(view["id"])} for view in dumped],
    })
