"""A ticket's thread on the wire (marshmallow): the message the tickets service accepts
(`add_message`, `create_ticket`'s initial `messages`) and the message every caller receives.

The tickets service validates with these; the gateway validates its request bodies with the same
classes, less what the access token supplies, for early 422s and its OpenAPI document.
"""
import base64
import binascii

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.contracts.enums import (
    MESSAGE_AUTHORS,
    MESSAGE_CHANNELS,
    MESSAGE_VISIBILITIES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
)
from shared.contracts.schemas import Text, email, optional_text
from shared.contracts.ticket_schemas import TicketInputSchema

BODY_MAX = 100_000  # a long e-mail's clean text; the full original goes in `original`
ORIGINAL_MAX = 1_000_000
ATTACHMENTS_MAX = 10
ATTACHMENTS_BYTES_MAX = 10 * 1024 * 1024  # all of one message's files together, decoded
FILENAME_MAX = 255
REOPEN_WINDOW_DAYS = 14
INITIAL_MESSAGES_MAX = 500  # a chat transcript's lines


# Standard base64 with its padding, as `decode_b64` takes it (published in the API document).
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def decoded_size(value):
    """The bytes a valid base64 text decodes to, counted without decoding it."""
    return len(value) * 3 // 4 - value[-2:].count("=")


def size_text(size):
    """'512 bytes', '14 KB', '2.3 MB': a file's size as the customer reads it (the tracker's links, e-mails)."""
    size = size if isinstance(size, int) and size > 0 else 0
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def decode_b64(value):
    """The bytes of a base64 text, or None if it is not base64."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None


class AttachmentInputSchema(Schema):
    filename = Text(required=True, validate=[validate.Length(min=1, error="Must not be blank."),
                                             validate.Length(max=FILENAME_MAX)])
    content_type = Text(load_default="application/octet-stream", validate=validate.Length(min=1, max=255))
    data_b64 = fields.String(required=True, metadata={"description": "the file's bytes, base64",
                                                      "pattern": BASE64_PATTERN})

    @validates_schema
    def _decodes(self, data, **kwargs):
        if decode_b64(data["data_b64"]) is None:
            raise ValidationError("Not valid base64.", "data_b64")


class AttachmentSchema(Schema):
    """An attachment as listed on its message (the bytes come from get_attachment / the download)."""

    id = fields.UUID()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(metadata={"description": "bytes"})


class MessageBodySchema(Schema):
    """What an agent writes: the text, public or internal, its files, and for a public reply the status to set."""

    body = Text(load_default="", validate=validate.Length(max=BODY_MAX))
    visibility = fields.String(load_default="public", validate=validate.OneOf(MESSAGE_VISIBILITIES))
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES), metadata={
        "description": "a public reply only: the status to set with it (reply and mark pending or resolved)"})
    attachments = fields.List(fields.Nested(AttachmentInputSchema), load_default=list, metadata={
        "description": f"at most {ATTACHMENTS_MAX} files, {ATTACHMENTS_BYTES_MAX // (1024 * 1024)} MB in all (decoded)",
        "maxItems": ATTACHMENTS_MAX})

    @validates_schema
    def _files(self, data, **kwargs):
        attachments = data.get("attachments") or []
        if len(attachments) > ATTACHMENTS_MAX:
            raise ValidationError(f"At most {ATTACHMENTS_MAX} files.", "attachments")
        total = sum(decoded_size(a["data_b64"]) for a in attachments)  # each one checked as base64 already
        if total > ATTACHMENTS_BYTES_MAX:
            raise ValidationError(f"At most {ATTACHMENTS_BYTES_MAX // (1024 * 1024)} MB of files in all.", "attachments")


class MessageInputSchema(MessageBodySchema):
    """A new thread entry: add_message's `message`, one of create_ticket's `messages`.

    The limits (body, files, bytes: the latter in MessageBodySchema) and who may do what (only agents
    write internal notes, only an agent's public reply sets the status) are checked here, so every
    caller gets the same ValidationError with its field.
    """

    author_type = fields.String(required=True, validate=validate.OneOf(MESSAGE_AUTHORS))
    author_name = optional_text(200)
    author_email = email()
    channel = fields.String(required=True, validate=validate.OneOf(MESSAGE_CHANNELS))
    original = optional_text(ORIGINAL_MAX)
    email_message_id = optional_text(998)
    reopen_window_days = fields.Integer(load_default=REOPEN_WINDOW_DAYS, validate=validate.Range(min=0, max=3650))
    # Only in create_ticket's `messages` (a transcript keeps its own times); add_message stamps now.
    created_at = fields.AwareDateTime()

    @validates_schema
    def _rules(self, data, **kwargs):
        if not data.get("body") and not data.get("attachments"):
            raise ValidationError("Must not be blank.", "body")
        if data.get("visibility") == "internal" and data.get("author_type") != "agent":
            raise ValidationError("Only agents write internal notes.", "visibility")
        if "status" in data and (data.get("author_type") != "agent" or data.get("visibility") != "public"):
            raise ValidationError("Only an agent's public reply sets the status.", "status")


class MessageSchema(Schema):
    """One entry of a ticket's thread, as every caller (RPC, API, events) sees it."""

    id = fields.Integer()
    ticket_id = fields.UUID()
    ticket_number = fields.String(metadata={"example": "TKT-00001"})
    author_type = fields.String(validate=validate.OneOf(MESSAGE_AUTHORS))
    author_name = fields.String(allow_none=True)
    author_email = fields.String(allow_none=True)
    visibility = fields.String(validate=validate.OneOf(MESSAGE_VISIBILITIES))
    channel = fields.String(validate=validate.OneOf(MESSAGE_CHANNELS))
    body = fields.String(metadata={"description": "clean text (quoted history cut)"})
    created_at = fields.DateTime()
    attachments = fields.List(fields.Nested(AttachmentSchema))
    email_message_id = fields.String(allow_none=True)
    has_original = fields.Boolean(metadata={
        "description": "the whole text it came with is kept (an e-mail whose quoted history was cut from `body`)"})


class MessageOriginalSchema(Schema):
    """The whole text a message came with (agents only)."""

    message_id = fields.Integer()
    ticket_number = fields.String(metadata={"example": "TKT-00001"})
    original = fields.String(metadata={"description": "as received, quoted history included (plain text)"})


class TicketCreateInputSchema(TicketInputSchema):
    """create_ticket's data: a ticket, where it came from, and its first thread entries."""

    channel = fields.String(load_default="api", validate=validate.OneOf(TICKET_CHANNELS))
    related_ticket = optional_text(20)
    messages = fields.List(fields.Nested(MessageInputSchema), load_default=list,
                           validate=validate.Length(max=INITIAL_MESSAGES_MAX))
