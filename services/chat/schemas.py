"""The chat service's wire formats: what it accepts (validated) and what it returns (plain JSON).

Two views of a conversation: the agent's (everything but the token hash) and the customer's
(no tenant, assignee or agent ids).
"""
from marshmallow import Schema, ValidationError as SchemaError, fields, validate, validates_schema

from shared.enums import CONVERSATION_STATUSES
from shared.schemas import Text, email, optional_text, required_text

from .domain import MESSAGE_MAX

NAME_MAX = 200
PER_PAGE_MAX = 100
MESSAGES_LIMIT_MAX = 200
# Authors an RPC caller may post as; "system" messages are the service's own.
POSTING_AUTHORS = ("agent", "customer")


def _body(required=True):
    return Text(
        required=required, allow_none=not required,
        validate=[
            validate.Length(min=1, error="Must not be blank."),
            validate.Length(max=MESSAGE_MAX, error="Longer than {max} characters."),
        ],
    )


class StartSchema(Schema):
    """A customer starting a chat; `message`, if given, is their first message."""

    client_id = required_text(64)
    customer_name = required_text(NAME_MAX)
    customer_email = email(required=True)
    message = _body(required=False)


class PostSchema(Schema):
    body = _body()
    author = fields.String(load_default="agent", validate=validate.OneOf(POSTING_AUTHORS))
    author_name = optional_text(NAME_MAX)
    author_id = optional_text(255)

    @validates_schema
    def _agents_sign(self, data, **kwargs):
        # The customer's name is the conversation's; an agent's must be given (the customer sees it).
        if data.get("author", "agent") == "agent" and not data.get("author_name"):
            raise SchemaError("Required for an agent's message.", field_name="author_name")


class BodySchema(Schema):
    body = _body()


class ListFiltersSchema(Schema):
    client_id = required_text(64)
    status = fields.String(validate=validate.OneOf(CONVERSATION_STATUSES))
    assigned_to = Text(validate=[validate.Length(min=1, max=255)])
    unassigned = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=PER_PAGE_MAX))

    @validates_schema
    def _one_assignee_filter(self, data, **kwargs):
        if data.get("unassigned") and data.get("assigned_to"):
            raise SchemaError("Give assigned_to or unassigned, not both.", field_name="unassigned")


class MessagePageSchema(Schema):
    """Which messages: the newest `limit` by default, older than `before`, or newer than `after`."""

    before = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    after = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MESSAGES_LIMIT_MAX))

    @validates_schema
    def _one_direction(self, data, **kwargs):
        if data.get("before") is not None and data.get("after") is not None:
            raise SchemaError("Give before or after, not both.", field_name="before")


class AssignSchema(Schema):
    agent = optional_text(255)
    actor = optional_text(255)


class ActorSchema(Schema):
    actor = optional_text(255)


class ReadSchema(Schema):
    up_to = fields.Integer(required=True, validate=validate.Range(min=0))


def _last_message(conversation):
    if conversation.last_message_id is None:
        return None
    return {
        "id": conversation.last_message_id,
        "author": conversation.last_message_author,
        "author_name": conversation.last_message_author_name,
        "preview": conversation.last_message_preview,
        "created_at": conversation.last_message_at.isoformat(),
    }


class ConversationSchema(Schema):
    """A conversation as agents (and events) see it."""

    id = fields.UUID()
    client_id = fields.String()
    customer_name = fields.String()
    customer_email = fields.String()
    status = fields.String()
    assigned_to = fields.String()
    created_at = fields.DateTime()
    last_message_at = fields.DateTime()
    closed_at = fields.DateTime()
    closed_by = fields.String()
    ticket_numbers = fields.List(fields.String())
    agent_read_up_to = fields.Integer()
    customer_read_up_to = fields.Integer()
    last_message = fields.Function(_last_message)


class CustomerConversationSchema(Schema):
    """A conversation as its customer sees it: no tenant, assignee or agent read marker."""

    id = fields.UUID()
    customer_name = fields.String()
    customer_email = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    last_message_at = fields.DateTime()
    closed_at = fields.DateTime()
    ticket_numbers = fields.List(fields.String())
    customer_read_up_to = fields.Integer()
    last_message = fields.Function(_last_message)


class MessageSchema(Schema):
    id = fields.Integer()
    conversation_id = fields.UUID()
    author = fields.String()
    author_name = fields.String()
    author_id = fields.String()
    body = fields.String()
    created_at = fields.DateTime()


# Built once: a marshmallow schema costs more to construct than to use.
CONVERSATION = ConversationSchema()
CUSTOMER_CONVERSATION = CustomerConversationSchema()
MESSAGE = MessageSchema()
MESSAGES = MessageSchema(many=True)
CUSTOMER_MESSAGE = MessageSchema(exclude=("author_id",))
CUSTOMER_MESSAGES = MessageSchema(many=True, exclude=("author_id",))
START = StartSchema()
POST = PostSchema()
BODY = BodySchema()
LIST_FILTERS = ListFiltersSchema()
MESSAGE_PAGE = MessagePageSchema()
ASSIGN = AssignSchema()
ACTOR = ActorSchema()
READ = ReadSchema()

VIEWS = {
    "agent": (CONVERSATION, MESSAGES),
    "customer": (CUSTOMER_CONVERSATION, CUSTOMER_MESSAGES),
}
