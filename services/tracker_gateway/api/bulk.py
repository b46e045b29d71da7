"""The agent API's bulk actions: one request changes or deletes up to 1,000 of the client's tickets
through the tickets service's `bulk_update` (services/tickets/bulk.py), on a proxy pool of its own
whose timeout (BULK_RPC_TIMEOUT) fits a batch, not a single read."""
from flask import Blueprint, current_app, g, jsonify, request

from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core.rpc import Lease
from shared.contracts.bulk_schemas import BulkRequestSchema, BulkResultSchema

bp = Blueprint("api_ticket_bulk", __name__, url_prefix="/api/entities/ticket")

BULK_REQUEST = BulkRequestSchema()


@bp.post("/bulk")
@documented("tickets", body=BulkRequestSchema, responses={
    200: ("What changed, what already was so, and which tickets failed and why", BulkResultSchema)})
@login_required
def bulk_update():
    """Change or delete many tickets at once: {tickets: [id or number, ...] | filter: {...}, changes: {...}} or
    {..., delete: true}. Each ticket changes in its own history entry and event, as a single update would, or not at
    all (then it is listed in `failed`)."""
    body = request.get_json(silent=True)
    schemas.load(BULK_REQUEST, body)  # an early 422 for a malformed batch; the service checks again
    lease = Lease(current_app.extensions["bulk_rpc_pool"])
    try:
        result = lease.call("tickets", "bulk_update", body, actor=g.principal.email, client_id=g.principal.client_id)
    finally:
        lease.release()
    return jsonify(result)
