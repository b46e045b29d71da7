"""The agent API's ticket thread: list a ticket's messages, add a reply or an internal note, download
an attachment. Thin views over the tickets service (services/tickets/conversation.py), always scoped to
the agent's client from the access token: another client's ticket or file is a 404."""
import base64
import io
import re
import uuid

from flask import Blueprint, current_app, g, jsonify, request, send_file
from marshmallow import Schema, fields

from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.chat import agent_name
from services.tracker_gateway.api.openapi import BINARY, documented
from services.tracker_gateway.api.tickets import IDEMPOTENCY_HEADER
from services.tracker_gateway.core.rpc import tickets
from shared.contracts.message_schemas import (
    ATTACHMENTS_BYTES_MAX,
    BODY_MAX,
    MessageBodySchema,
    MessageOriginalSchema,
    MessageSchema,
)
from shared.contracts.schemas import required_text

bp = Blueprint("api_messages", __name__, url_prefix="/api/entities/ticket")


class TicketMessageInputSchema(MessageBodySchema):
    """An agent's entry on the thread: a public reply (optionally setting the status) or an internal note.
    The author is the agent of the access token; the channel is "agent"."""

    body = required_text(BODY_MAX)


class TicketMessageSchema(MessageSchema):
    """One entry of a ticket's thread."""


class TicketMessagesSchema(Schema):
    items = fields.List(fields.Nested(TicketMessageSchema), metadata={"description": "oldest first"})


MESSAGE_INPUT = TicketMessageInputSchema()
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\]')


def safe_filename(name):
    """A sender's file name fit for a header and a disk: no control characters, no path."""
    return _UNSAFE_IN_NAMES.sub("_", name).strip() or "attachment"


@bp.get("/<ref>/messages")
@documented("tickets", responses={200: ("The thread, oldest first, internal notes included", TicketMessagesSchema)})
@login_required
def list_messages(ref):
    """The ticket's thread: customer messages, public replies and internal notes, oldest first."""
    return jsonify({"items": tickets().list_messages(ref, client_id=g.principal.client_id)})


@bp.post("/<ref>/messages")
@documented("tickets", body=TicketMessageInputSchema, responses={201: ("The message", TicketMessageSchema)})
@login_required
def add_message(ref):
    """Reply to the customer (visibility public, optionally with the status to set) or write an internal note.

    Files go in `attachments`, base64 in the JSON body (the body may then be larger than elsewhere: the
    files' limit, encoded, on top of the usual). An `Idempotency-Key` header makes a retried request add one
    message."""
    request.max_content_length = ATTACHMENTS_BYTES_MAX * 4 // 3 + 4096 + current_app.config["MAX_CONTENT_LENGTH"]
    data = schemas.load(MESSAGE_INPUT, request.get_json(silent=True))
    message = {**data, "author_type": "agent", "author_name": agent_name(), "author_email": g.principal.email,
               "channel": "agent"}
    key = request.headers.get(IDEMPOTENCY_HEADER) or uuid.uuid4().hex
    result = tickets().add_message(ref, message, client_id=g.principal.client_id, idempotency_key=key)
    return jsonify(result["message"]), 201


@bp.get("/<ref>/messages/<int:message_id>/original")
@documented("tickets", responses={200: ("The whole text", MessageOriginalSchema)})
@login_required
def message_original(ref, message_id):
    """The whole text a message came with, quoted history included (for a message with `has_original`)."""
    return jsonify(tickets().get_original(ref, message_id, client_id=g.principal.client_id))


@bp.get("/<ref>/attachments/<attachment_id>")
@documented("tickets", responses={200: ("The file, as a download", BINARY)})
@login_required
def download_attachment(ref, attachment_id):
    """Download a file of the ticket's thread.

    Always served as a download (`Content-Disposition: attachment`, `application/octet-stream`,
    `nosniff`): a file a customer sent is never rendered by the browser on the gateway's origin."""
    found = tickets().get_attachment(ref, attachment_id, client_id=g.principal.client_id)
    response = send_file(io.BytesIO(base64.b64decode(found["data_b64"])), mimetype="application/octet-stream",
                         as_attachment=True, download_name=safe_filename(found["filename"]), etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
