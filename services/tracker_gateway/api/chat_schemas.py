"""What the gateway's chat endpoints accept and answer (marshmallow): the agent's chat API and the public chat.

Each input schema is the chat service's own contract (shared/contracts/chat_schemas.py) less the fields the gateway
supplies itself: the client comes from the page's slug or the access token, the author from the
token or the conversation, so a caller sending them gets a 422 ("Unknown field"). The gateway's check
gives early 422s and the OpenAPI document; the service validates again and stays the authority.
The answers are the chat service's replies, passed on unchanged: the contract's reply schemas
describe them in the document.
"""
from marshmallow import Schema, fields, validate

from services.tracker_gateway.api.schemas import TicketInputSchema
from shared.contracts.chat_schemas import (  # noqa: F401  (the reply schemas: re-exported for the views' documentation)
    AUTHOR_FIELDS,
    AgentConversationViewSchema,
    AgentThreadSchema,
    AssignSchema,
    ConversationPageSchema,
    CustomerConversationViewSchema,
    CustomerMessageSchema,
    CustomerThreadSchema,
    ListFiltersSchema,
    MessagePageSchema,
    MessageSchema,
    PostSchema,
    ReadSchema,
    StartedConversationSchema,
    StartSchema,
    TicketDraftSchema,
)


class StreamTicketSchema(Schema):
    """Where and how the customer's page opens its stream of the conversation (chat_streams.py)."""

    url = fields.String(metadata={"description": "the stream's URL: GET it with the ticket in X-Chat-Stream-Ticket"})
    ticket = fields.String(metadata={"description": "opens a stream of this conversation; good for `expires_in` s"})
    expires_in = fields.Integer()


class ChatStartSchema(StartSchema):
    """A customer opening a chat on a client's page; `message`, if given, is the first message."""

    class Meta:
        exclude = ("client_id", "page_url")


class ChatMessageSchema(PostSchema):
    """A reply: the agent's name and e-mail come from the token, the customer's from the conversation."""

    class Meta:
        exclude = AUTHOR_FIELDS


class ChatAssignSchema(AssignSchema):
    class Meta:
        exclude = ("actor",)


class ChatListQuerySchema(ListFiltersSchema):
    class Meta:
        exclude = ("client_id",)


class ChatTicketSchema(TicketInputSchema):
    """A ticket made from a conversation: the client and creator come from the token, the
    conversation from the URL; the customer's details default to the conversation's. The chat's
    messages become the ticket's first entries: all of them, or those listed in `message_ids`."""

    message_ids = fields.List(fields.Integer(validate=validate.Range(min=1)), validate=validate.Length(min=1, max=500),
                              metadata={"description": "only these chat messages go to the ticket (default: the whole transcript)"})

    class Meta:
        exclude = ("client_id", "created_by", "conversation_id")


CHAT_TICKET = ChatTicketSchema()
START = ChatStartSchema()
MESSAGE = ChatMessageSchema()
READ = ReadSchema()
ASSIGN = ChatAssignSchema()
THREAD_QUERY = MessagePageSchema()
CONVERSATION_LIST_QUERY = ChatListQuerySchema()
