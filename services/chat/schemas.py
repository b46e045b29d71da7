"""The chat service's wire formats: the shared input contract's schemas, built once, and what it returns.

What it accepts lives in shared/contracts/chat_schemas.py (the gateway validates with it too). Two views of a
conversation: the agent's (everything but the token hash) and the customer's (no tenant, assignee
or agent ids).
"""
from marshmallow import Schema, fields

from shared.contracts.chat_schemas import (
    ActorSchema,
    AssignSchema,
    BodySchema,
    ListFiltersSchema,
    MessagePageSchema,
    PostSchema,
    ReadSchema,
    StartSchema,
)


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
