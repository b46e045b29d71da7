"""The chat service's RPC contract as marshmallow schemas: what it accepts (and the limits), and
what it returns.

The chat service validates with the input schemas; the gateway validates request bodies and query
strings with the same classes (minus the fields the slug or the access token supplies) for early
422s and its OpenAPI document. One copy, so the two cannot drift apart; the service checks again.

The service dumps conversations and messages with the reply schemas (services/chat/schemas.py);
the gateway passes its replies on unchanged and documents its chat responses with them.
"""
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from shared.contracts.enums import CONVERSATION_STATUSES, MESSAGE_AUTHORS
from shared.contracts.schemas import PageSchema, Text, email, optional_text, required_text

MESSAGE_MAX = 5000
NAME_MAX = 200
AGENT_MAX = 255  # an agent is named by e-mail; 255 leaves room for any id the service is given
PER_PAGE_MAX = 100
MESSAGES_LIMIT_MAX = 200
# Authors an RPC caller may post as; "system" messages are the service's own.
POSTING_AUTHORS = ("agent", "customer")
AUTHOR_FIELDS = ("author", "author_name", "author_id")


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
    page_url = optional_text(500, metadata={"description": "the chat page it starts on (the e-mails' way back)"})


class PostSchema(Schema):
    """A message and who writes it; with AUTHOR_FIELDS excluded, a message whose author the caller knows."""

    body = _body()
    author = fields.String(load_default="agent", validate=validate.OneOf(POSTING_AUTHORS))
    author_name = optional_text(NAME_MAX)
    author_id = optional_text(255)

    @validates_schema
    def _agents_sign(self, data, **kwargs):
        # Without author fields the caller supplies the author itself (the token's agent or customer).
        if "author_name" not in self.fields:
            return
        # The customer's name is the conversation's; an agent's must be given (the customer sees it).
        if data.get("author", "agent") == "agent" and not data.get("author_name"):
            raise SchemaError("Required for an agent's message.", field_name="author_name")


class BodySchema(PostSchema):
    """The customer's message sent with their token: the conversation says who wrote it."""

    class Meta:
        exclude = AUTHOR_FIELDS


class ListFiltersSchema(Schema):
    client_id = required_text(64)
    status = fields.String(validate=validate.OneOf(CONVERSATION_STATUSES))
    assigned_to = Text(validate=[validate.Length(min=1, max=AGENT_MAX)], metadata={
        "description": "this agent's (by e-mail); with unassigned=true, theirs and nobody's"})
    unassigned = fields.Boolean(metadata={"description": "only conversations assigned to nobody (true)"})
    missed = fields.Boolean(metadata={"description": "only missed conversations no agent has handled yet (true)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=PER_PAGE_MAX))


class MessagePageSchema(Schema):
    """Which messages: the newest `limit` by default, older than `before`, newer than `after`, or
    both: between them (oldest first)."""

    before = fields.Integer(allow_none=True, validate=validate.Range(min=1),
                            metadata={"description": "only messages with a smaller id (the newest of them)"})
    after = fields.Integer(allow_none=True, validate=validate.Range(min=0),
                           metadata={"description": "only messages with a greater id (the oldest of them); "
                                                    "with before, those between the two"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MESSAGES_LIMIT_MAX))


class AssignSchema(Schema):
    # Required but nullable: unassigning is said with null, never by leaving the field out.
    agent = optional_text(AGENT_MAX, required=True,
                          metadata={"description": "an agent's e-mail in the same client, or null to unassign"})
    actor = optional_text(255)


class ActorSchema(Schema):
    actor = optional_text(255)


class HandledSchema(Schema):
    actor = optional_text(255, metadata={"description": "the agent who handled it (e-mail)"})


class ReadSchema(Schema):
    up_to = fields.Integer(required=True, validate=validate.Range(min=0),
                           metadata={"description": "the newest message id the reader has seen"})


# -- what it returns --
# Conversations and messages are dumped with these; the rest (counts, threads, pages, the draft)
# are dicts built in services/chat/operations.py, described here field by field. The gateway's tests
# compare every chat response with its schema, keys and types, so a drift fails there.

class LastMessageSchema(Schema):
    """The newest message in short, kept on the conversation so that a list needs no join."""

    id = fields.Integer()
    author = fields.String(validate=validate.OneOf(MESSAGE_AUTHORS))
    author_name = fields.String()
    preview = fields.String(metadata={"description": "the start of its body"})
    created_at = fields.DateTime()


class ConversationSchema(Schema):
    """A conversation as agents (and chat.* events) see it."""

    id = fields.UUID()
    client_id = fields.String()
    customer_name = fields.String()
    customer_email = fields.String()
    status = fields.String(validate=validate.OneOf(CONVERSATION_STATUSES))
    assigned_to = fields.String(allow_none=True, metadata={"description": "the assigned agent's e-mail"})
    created_at = fields.DateTime()
    last_message_at = fields.DateTime(metadata={"description": "newest activity (the start until a message)"})
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True, metadata={
        "description": "an agent's e-mail, customer, or system (closed unanswered after a quiet while)"})
    ticket_numbers = fields.List(fields.String(), metadata={"description": "tickets made from it, in order"})
    missed_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the customer left before any agent answered (null: not missed)"})
    handled_at = fields.DateTime(allow_none=True, metadata={"description": "when an agent handled the missed chat"})
    handled_by = fields.String(allow_none=True, metadata={"description": "the agent's e-mail"})
    agent_read_up_to = fields.Integer(metadata={"description": "the newest message id the agents have seen"})
    customer_read_up_to = fields.Integer(metadata={"description": "the newest message id the customer has seen"})
    last_message = fields.Nested(LastMessageSchema, allow_none=True)


class CustomerConversationSchema(ConversationSchema):
    """A conversation as its customer sees it: no tenant, assignee or agents' read marker."""

    class Meta:
        exclude = ("client_id", "assigned_to", "closed_by", "agent_read_up_to", "missed_at", "handled_at", "handled_by")


class MessageSchema(Schema):
    id = fields.Integer(metadata={"description": "grows in posting order within a conversation: a cursor"})
    conversation_id = fields.UUID()
    author = fields.String(validate=validate.OneOf(MESSAGE_AUTHORS))
    author_name = fields.String()
    author_id = fields.String(allow_none=True, metadata={"description": "an agent's e-mail"})
    body = fields.String(metadata={"description": "plain text: render it as text, never as HTML"})
    created_at = fields.DateTime()


class CustomerMessageSchema(MessageSchema):
    """A message as the customer sees it: no agent's e-mail."""

    class Meta:
        exclude = ("author_id",)


class AgentConversationViewSchema(ConversationSchema):
    """A conversation and its unread counts, as agents see it."""

    agent_unread = fields.Integer(metadata={"description": "customer messages above the agents' read marker"})
    customer_unread = fields.Integer(metadata={"description": "agent and system messages above the customer's"})


class CustomerConversationViewSchema(CustomerConversationSchema):
    """A conversation and the customer's unread count, as the customer sees it."""

    customer_unread = fields.Integer(metadata={"description": "agent and system messages above the customer's marker"})


class _ThreadPageSchema(Schema):
    has_older = fields.Boolean(metadata={"description": "older messages exist (ask with before=)"})
    has_newer = fields.Boolean(metadata={"description": "newer messages exist (ask with after=)"})


class AgentThreadSchema(_ThreadPageSchema):
    """A conversation with one page of its messages, as agents see it."""

    conversation = fields.Nested(AgentConversationViewSchema)
    messages = fields.List(fields.Nested(MessageSchema), metadata={"description": "oldest first"})


class CustomerThreadSchema(_ThreadPageSchema):
    """A conversation with one page of its messages, as its customer sees it."""

    conversation = fields.Nested(CustomerConversationViewSchema)
    messages = fields.List(fields.Nested(CustomerMessageSchema), metadata={"description": "oldest first"})


class StartedConversationSchema(CustomerThreadSchema):
    """A new conversation, its first page and the token that opens it (returned this once)."""

    token = fields.String(metadata={"description": "send it as X-Chat-Token; it is not shown again"})


class ConversationPageSchema(PageSchema):
    items = fields.List(fields.Nested(AgentConversationViewSchema))


class TicketDraftSchema(Schema):
    """The "Create Ticket" dialog's pre-filled fields for a conversation."""

    conversation_id = fields.UUID()
    client_id = fields.String()
    customer_name = fields.String()
    customer_email = fields.String()
    title = fields.String()
    description = fields.String(metadata={"description": "the newest lines of the chat, \"name: text\" each"})
