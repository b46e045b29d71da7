"""The chat service's wire formats: the shared contract's schemas, built once.

What it accepts and what it returns live in shared/contracts/chat_schemas.py (the gateway validates
and documents with them too). Two views of a conversation: the agent's (everything but the token
hash) and the customer's (no tenant, assignee or agent ids).
"""
from marshmallow import fields

from shared.contracts import chat_schemas as contract
from shared.contracts.chat_schemas import (
    ActorSchema,
    AssignSchema,
    BodySchema,
    CustomerMessageSchema,
    HandledSchema,
    ListFiltersSchema,
    MessagePageSchema,
    MessageSchema,
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


# The row keeps the newest message in last_message_* columns: the contract's nested object is made from them.
class ConversationSchema(contract.ConversationSchema):
    last_message = fields.Function(_last_message)


class CustomerConversationSchema(contract.CustomerConversationSchema):
    last_message = fields.Function(_last_message)


# Built once: a marshmallow schema costs more to construct than to use.
CONVERSATION = ConversationSchema()
CUSTOMER_CONVERSATION = CustomerConversationSchema()
MESSAGE = MessageSchema()
MESSAGES = MessageSchema(many=True)
CUSTOMER_MESSAGE = CustomerMessageSchema()
CUSTOMER_MESSAGES = CustomerMessageSchema(many=True)
START = StartSchema()
POST = PostSchema()
BODY = BodySchema()
LIST_FILTERS = ListFiltersSchema()
MESSAGE_PAGE = MessagePageSchema()
ASSIGN = AssignSchema()
ACTOR = ActorSchema()
READ = ReadSchema()
HANDLED = HandledSchema()
