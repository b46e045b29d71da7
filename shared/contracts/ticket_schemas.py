"""The tickets service's RPC contract as marshmallow schemas: what it accepts and what it returns.

The tickets service validates with them; the gateway validates request bodies with the same
classes (minus the fields its token supplies) for early 422s and its OpenAPI document.
"""
from marshmallow import Schema, fields, validate

from shared.contracts.enums import RATINGS, SLA_FILTERS, TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES
from shared.contracts.schemas import Text, email, optional_text, phone, required_text

TITLE_MAX = 200
TEXT_MAX = 20_000  # description and resolution notes: a long email thread, not a file dump
SEARCH_MAX = 200
PER_PAGE_MAX = 100

# The sidebar's queues (services/tickets/queues.py says what each holds).
QUEUES = ("open", "unassigned", "pending", "resolved_recently")

SORT_FIELDS = ("created_at", "updated_at", "ticket_number", "priority", "status", "title", "sla_due_at")
SORTS = SORT_FIELDS + tuple(f"-{name}" for name in SORT_FIELDS)

# Fields fixed at creation: who the ticket belongs to, who opened it, where it came from.
IMMUTABLE_FIELDS = ("client_id", "created_by", "conversation_id")


class TicketInputSchema(Schema):
    """A new ticket; with partial=True and the immutable fields excluded, an update."""

    title = required_text(TITLE_MAX)
    description = required_text(TEXT_MAX)
    status = fields.String(load_default="open", validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(load_default="general", validate=validate.OneOf(TICKET_CATEGORIES))
    client_id = required_text(64)
    customer_name = optional_text(200)
    customer_email = email()
    customer_phone = phone()
    conversation_id = optional_text(64)
    created_by = optional_text(255)
    assigned_to = optional_text(255)
    resolution_notes = optional_text(TEXT_MAX)


class SlaTargetSchema(Schema):
    target_minutes = fields.Integer(metadata={"description": "business minutes allowed"})
    due_at = fields.DateTime(allow_none=True, metadata={"description": "null while the clock is paused"})
    outcome = fields.String(allow_none=True, validate=validate.OneOf(("achieved", "breached")),
                            metadata={"description": "set when the first response / resolution happens"})
    warned = fields.Boolean()
    breached = fields.Boolean()


class SlaStateSchema(Schema):
    """A ticket's SLA: its next due time and each target's state (null on tickets older than SLAs)."""

    due_at = fields.DateTime(allow_none=True, metadata={"description": "the next target's due time"})
    paused = fields.Boolean(metadata={"description": "the clock stops while pending, resolved or closed"})
    first_response = fields.Nested(SlaTargetSchema)
    resolution = fields.Nested(SlaTargetSchema)


class TicketSchema(Schema):
    """A ticket as every caller sees it."""

    id = fields.UUID()
    ticket_number = fields.String(metadata={"example": "TKT-00001"})
    client_id = fields.String()
    title = fields.String()
    description = fields.String()
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(validate=validate.OneOf(TICKET_CATEGORIES))
    customer_name = fields.String(allow_none=True)
    customer_email = fields.String(allow_none=True)
    conversation_id = fields.String(allow_none=True)
    created_by = fields.String(allow_none=True)
    assigned_to = fields.String(allow_none=True)
    resolution_notes = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    first_response_at = fields.DateTime(allow_none=True, metadata={"description": "the first public agent reply"})
    channel = fields.String(metadata={"description": "where the ticket came from: chat, email, web, agent, api"})
    related_ticket = fields.String(allow_none=True, metadata={
        "description": "the older ticket this one follows (a reply to a ticket closed long ago)"})
    last_customer_message_at = fields.DateTime(allow_none=True, metadata={"description": "when the customer last wrote"})
    reply_token = fields.String(metadata={"description": "the secret of the ticket's reply address (support+<token>@...)"})
    sla = fields.Nested(SlaStateSchema, allow_none=True)
    customer_phone = fields.String(allow_none=True, metadata={"description": "E.164; SMS updates go there"})
    rating = fields.String(allow_none=True, validate=validate.OneOf(RATINGS),
                           metadata={"description": "the customer's latest satisfaction rating"})
    rated_at = fields.DateTime(allow_none=True)
    resolution_round = fields.Integer(metadata={
        "description": "how many times the ticket has been resolved (a rating link is for one round)"})


class HistoryEntrySchema(Schema):
    """One line of a ticket's timeline."""

    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String(validate=validate.OneOf(
        ("created", "updated", "deleted", "sla_warning", "sla_breached", "rated")))
    field = fields.String(allow_none=True)
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)


class ListFiltersSchema(Schema):
    client_id = required_text(64)
    queue = fields.String(validate=validate.OneOf(QUEUES), metadata={
        "description": "open (open, in progress), unassigned (not resolved), pending, resolved_recently (7 days)"})
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(validate=validate.OneOf(TICKET_CATEGORIES))
    assigned_to = Text(validate=validate.Length(max=255))
    q = Text(validate=validate.Length(max=SEARCH_MAX),
             metadata={"description": "words in any order in number, customer, title, description (web-search syntax: \"a phrase\", or, -word); a ticket number also matches by prefix (12, TKT-12)"})
    sla = fields.String(validate=validate.OneOf(SLA_FILTERS),
                        metadata={"description": "breached: the next SLA target's due time has passed; due_soon: it "
                                                 "falls within the hour"})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SORTS),
                         metadata={"description": "a field, '-' first for descending"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=PER_PAGE_MAX))
