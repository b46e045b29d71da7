"""What the gateway's chat endpoints accept (marshmallow): the agent's chat API and the public chat.

Limits and text checks (no NUL, e-mail format) mirror the chat service's (services/chat/schemas.py),
through the same shared.schemas fields; the service validates again and stays the authority; the gateway's check gives early 422s and refuses fields the caller may not set (the
client comes from the token or the page's slug, the author from the token or the conversation).
"""
from marshmallow import Schema, fields, validate

from shared.enums import CONVERSATION_STATUSES

from shared.schemas import Text, email, required_text

from .schemas import TicketCreateSchema

MESSAGE_MAX = 5000
NAME_MAX = 200
EMAIL_MAX = 254


class StartSchema(Schema):
    """A customer opening a chat on a client's page; `message`, if given, is the first message."""

    customer_name = required_text(NAME_MAX)
    customer_email = email(required=True)
    message = Text(allow_none=True, validate=validate.Length(max=MESSAGE_MAX))


class MessageSchema(Schema):
    body = required_text(MESSAGE_MAX)


class ReadSchema(Schema):
    up_to = fields.Integer(required=True, validate=validate.Range(min=0),
                           metadata={"description": "the newest message id the reader has seen"})


class AssignSchema(Schema):
    agent = Text(required=True, allow_none=True, validate=validate.Length(min=1, max=EMAIL_MAX),
                          metadata={"description": "an agent's e-mail in the same client, or null to unassign"})


class ThreadQuerySchema(Schema):
    """Which messages: the newest `limit`, those older than `before`, or newer than `after`."""

    before = fields.Integer(validate=validate.Range(min=1))
    after = fields.Integer(validate=validate.Range(min=0))
    limit = fields.Integer(validate=validate.Range(min=1, max=200))


class ConversationListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(CONVERSATION_STATUSES))
    assigned_to = Text(validate=validate.Length(min=1, max=EMAIL_MAX))
    unassigned = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


# The ticket endpoint's body: the ticket fields agents may set; the conversation is the URL's.
CHAT_TICKET = TicketCreateSchema(exclude=("conversation_id",))
START = StartSchema()
MESSAGE = MessageSchema()
READ = ReadSchema()
ASSIGN = AssignSchema()
THREAD_QUERY = ThreadQuerySchema()
CONVERSATION_LIST_QUERY = ConversationListQuerySchema()
