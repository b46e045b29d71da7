"""Inbound email for admins: what became of each mail sent to the client's addresses (or its SendGrid
URL), and the raw bytes kept of those that could not be read or handed over. Thin views over the
notifier's `list_inbound` / `get_inbound_raw`, scoped to the admin's client: another client's mail
is never listed and its raw is a 404."""
import base64
import io

from flask import Blueprint, abort, g, jsonify, request, send_file
from marshmallow import Schema, fields, validate

from services.tracker_gateway.accounts.roles import admin_required
from services.tracker_gateway.api.openapi import BINARY, documented
from services.tracker_gateway.api.schemas import load
from services.tracker_gateway.core.rpc import RemoteService
from shared.contracts.enums import INBOUND_STATUSES

bp = Blueprint("api_inbound", __name__, url_prefix="/api/inbound")


class InboundQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(INBOUND_STATUSES), metadata={"description": "only these"})


class InboundMailSchema(Schema):
    id = fields.Integer()
    received_at = fields.DateTime()
    source = fields.String(metadata={"description": "smtp or sendgrid"})
    sender = fields.String(allow_none=True)
    recipients = fields.List(fields.String())
    subject = fields.String(allow_none=True)
    message_id = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(INBOUND_STATUSES))
    reason = fields.String(allow_none=True, metadata={"description": "why it was ignored, refused or not read"})
    ticket_number = fields.String(allow_none=True)
    matched_by = fields.String(allow_none=True, metadata={"description": "token, headers, subject or new"})
    size = fields.Integer(metadata={"description": "bytes"})
    has_raw = fields.Boolean(metadata={"description": "the raw mail was kept: GET /api/inbound/{inbound_id}/raw"})


class InboundListSchema(Schema):
    items = fields.List(fields.Nested(InboundMailSchema), metadata={"description": "newest first (at most 50)"})


INBOUND_QUERY = InboundQuerySchema()


@bp.get("")
@documented("inbound", query=InboundQuerySchema, responses={200: ("The client's inbound mail", InboundListSchema)})
@admin_required
def list_inbound():
    """The client's latest inbound emails and what became of each (admins), newest first."""
    status = load(INBOUND_QUERY, request.args.to_dict()).get("status")
    return jsonify({"items": RemoteService("notifier").list_inbound(g.principal.client_id, status=status)})


@bp.get("/<int:inbound_id>/raw")
@documented("inbound", responses={200: ("The raw mail, as a download", BINARY)})
@admin_required
def download_raw(inbound_id):
    """Download the raw bytes kept of an inbound email that could not be read or handed over (admins).

    Always a download named `inbound-<id>.eml` (`Content-Disposition: attachment`,
    `application/octet-stream`, `nosniff`): what a stranger sent is never rendered by the browser on
    the gateway's origin."""
    if inbound_id < 1:  # ids start at 1: nothing to ask the notifier
        abort(404)
    raw_b64 = RemoteService("notifier").get_inbound_raw(g.principal.client_id, inbound_id)
    response = send_file(io.BytesIO(base64.b64decode(raw_b64)), mimetype="application/octet-stream", as_attachment=True,
                         download_name=f"inbound-{inbound_id}.eml", etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
