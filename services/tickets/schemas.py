"""The tickets service's wire formats: what it accepts (validated) and what it returns (plain JSON)."""
from marshmallow import Schema, ValidationError as SchemaError, fields, validate

from shared.enums import TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES
from shared.exceptions import ValidationError

TITLE_MAX = 200
TEXT_MAX = 20_000  # description and resolution notes: a long email thread, not a file dump
SEARCH_MAX = 200
PER_PAGE_MAX = 100

SORT_FIELDS = ("created_at", "updated_at", "ticket_number", "priority", "status", "title")
SORTS = SORT_FIELDS + tuple(f"-{name}" for name in SORT_FIELDS)


class Text(fields.String):
    """A string with surrounding white space removed; an optional one left blank becomes null."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if self.allow_none and isinstance(value, str) and not value.strip():
            value = None
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _required(max_length):
    return Text(
        required=True,
        validate=[validate.Length(min=1, error="Must not be blank."), validate.Length(max=max_length)],
    )


def _optional(max_length):
    return Text(allow_none=True, validate=validate.Length(max=max_length))


class TicketInputSchema(Schema):
    """A new ticket; with partial=True and the identity fields excluded, an update."""

    title = _required(TITLE_MAX)
    description = _required(TEXT_MAX)
    status = fields.String(load_default="open", validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(load_default="general", validate=validate.OneOf(TICKET_CATEGORIES))
    client_id = _required(64)
    customer_name = _optional(200)
    customer_email = Text(allow_none=True, validate=[validate.Length(max=254), validate.Email()])
    conversation_id = _optional(64)
    created_by = _optional(255)
    assigned_to = _optional(255)
    resolution_notes = _optional(TEXT_MAX)


# Fields fixed at creation: who the ticket belongs to, who opened it, where it came from.
IMMUTABLE_FIELDS = ("client_id", "created_by", "conversation_id")


class TicketSchema(Schema):
    """A ticket as every caller sees it."""

    id = fields.UUID()
    ticket_number = fields.String()
    client_id = fields.String()
    title = fields.String()
    description = fields.String()
    status = fields.String()
    priority = fields.String()
    category = fields.String()
    customer_name = fields.String()
    customer_email = fields.String()
    conversation_id = fields.String()
    created_by = fields.String()
    assigned_to = fields.String()
    resolution_notes = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    resolved_at = fields.DateTime()
    closed_at = fields.DateTime()


class HistoryEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    field = fields.String()
    old_value = fields.String()
    new_value = fields.String()


class ListFiltersSchema(Schema):
    client_id = _required(64)
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(validate=validate.OneOf(TICKET_CATEGORIES))
    assigned_to = Text(validate=validate.Length(max=255))
    q = Text(validate=validate.Length(max=SEARCH_MAX))
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=PER_PAGE_MAX))


class ActorSchema(Schema):
    actor = _optional(255)


def load(schema, data, **kwargs):
    """Validate with a marshmallow schema; raise the typed error that crosses RPC."""
    try:
        return schema.load(data, **kwargs)
    except SchemaError as exc:
        raise ValidationError(exc.messages) from None


def dump_ticket(ticket):
    return TICKET.dump(ticket)


# Built once: a marshmallow schema costs more to construct than to use.
TICKET = TicketSchema()
HISTORY = HistoryEntrySchema(many=True)
TICKET_CREATE = TicketInputSchema()
TICKET_UPDATE = TicketInputSchema(partial=True, exclude=IMMUTABLE_FIELDS)
LIST_FILTERS = ListFiltersSchema()
ACTOR = ActorSchema()
