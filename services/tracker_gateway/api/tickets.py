"""The agent API's ticket surface (its paths are the published contract: docs/gateway.md): thin views over the tickets
service, always scoped to the agent's client from the access token."""
import uuid

from flask import Blueprint, g, jsonify, request

from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core.rpc import tickets

bp = Blueprint("api_tickets", __name__, url_prefix="/api/entities/ticket")


def _body(schema):
    return schemas.load(schema, request.get_json(silent=True))


@bp.get("")
@documented("tickets", query=schemas.TicketListQuerySchema, responses={200: ("One page", schemas.TicketPageSchema)})
@login_required
def list_tickets():
    """One page of the client's tickets, filtered and sorted."""
    filters = schemas.load(schemas.TICKET_LIST_QUERY, request.args.to_dict())
    return jsonify(tickets().list_tickets({**filters, "client_id": g.principal.client_id}))


@bp.post("")
@documented("tickets", body=schemas.TicketCreateSchema, responses={
    201: ("Created, with its ticket_number", schemas.TicketSchema)})
@login_required
def create_ticket():
    """A new ticket in the agent's client, created by the agent."""
    data = _body(schemas.TICKET_CREATE)
    data.update(client_id=g.principal.client_id, created_by=g.principal.email)
    return jsonify(create_once(data)), 201


IDEMPOTENCY_HEADER = "Idempotency-Key"


def create_once(data):
    """Create through the tickets service under this request's idempotency key: the client's
    `Idempotency-Key` if it sent one (so its retries make one ticket), else a fresh one of ours (so
    an RPC redelivered after a tickets instance died mid-call makes one ticket too)."""
    key = request.headers.get(IDEMPOTENCY_HEADER) or uuid.uuid4().hex
    return tickets().create_ticket(data, idempotency_key=key)


@bp.get("/<ref>")
@documented("tickets", responses={200: ("The ticket", schemas.TicketSchema)})
@login_required
def get_ticket(ref):
    """One ticket, by id or number."""
    return jsonify(tickets().get_ticket(ref, client_id=g.principal.client_id))


@bp.route("/<ref>", methods=["PUT", "PATCH"])
@documented("tickets", body=schemas.TICKET_UPDATE, responses={
    200: ("The ticket and its changes", schemas.TicketUpdatedSchema)})
@login_required
def update_ticket(ref):
    """Change some fields (PUT accepts a partial body, as PATCH does)."""
    changes = _body(schemas.TICKET_UPDATE)
    return jsonify(tickets().update_ticket(ref, changes, actor=g.principal.email, client_id=g.principal.client_id))


@bp.delete("/<ref>")
@documented("tickets", responses={204: ("Deleted", None)})
@login_required
def delete_ticket(ref):
    """Delete a ticket: it disappears from every read."""
    tickets().delete_ticket(ref, actor=g.principal.email, client_id=g.principal.client_id)
    return "", 204


@bp.get("/<ref>/history")
@documented("tickets", responses={200: ("History", schemas.HistorySchema)})
@login_required
def history(ref):
    """The ticket's timeline of changes, oldest first."""
    return jsonify({"items": tickets().get_history(ref, client_id=g.principal.client_id)})
