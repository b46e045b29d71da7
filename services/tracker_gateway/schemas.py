"""The gateway's request and response formats (marshmallow): the same classes validate requests
and describe them in the OpenAPI document (openapi.py).

Limits mirror the tickets service's (services/tickets/schemas.py), which validates again: the
gateway's check gives early 422s and an accurate document, the service stays the authority.
"""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.enums import TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES

TITLE_MAX = 200
TEXT_MAX = 20_000
SEARCH_MAX = 200
PER_PAGE_MAX = 100
SORT_FIELDS = ("created_at", "updated_at", "ticket_number", "priority", "status", "title")
SORTS = SORT_FIELDS + tuple(f"-{name}" for name in SORT_FIELDS)


def _text(max_length, required=False, **kwargs):
    validators = [validate.Length(max=max_length)]
    if required:
        validators.insert(0, validate.Length(min=1, error="Must not be blank."))
    return fields.String(required=required, validate=validators, **kwargs)


# -- authentication --

class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenPairSchema(Schema):
    access_token = fields.String(metadata={"description": "JWT (HS256), valid 15 minutes"})
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "seconds"})
    refresh_token = fields.String(metadata={"description": "single use; each refresh returns a new one"})


class AgentSchema(Schema):
    id = fields.String()
    client_id = fields.String()
    email = fields.String()
    role = fields.String()


# -- tickets --

class TicketCreateSchema(Schema):
    """A new ticket. The client and the creator come from the access token, never from the body."""

    title = _text(TITLE_MAX, required=True)
    description = _text(TEXT_MAX, required=True)
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES), metadata={"default": "open"})
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES), metadata={"default": "medium"})
    category = fields.String(validate=validate.OneOf(TICKET_CATEGORIES), metadata={"default": "general"})
    customer_name = _text(200, allow_none=True)
    customer_email = fields.String(allow_none=True, validate=validate.Length(max=254), metadata={"format": "email"})
    conversation_id = _text(64, allow_none=True)
    assigned_to = _text(255, allow_none=True)
    resolution_notes = _text(TEXT_MAX, allow_none=True)


class TicketUpdateSchema(TicketCreateSchema):
    """Any subset of the fields; the conversation is fixed at creation."""

    class Meta:
        exclude = ("conversation_id",)


class TicketListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(validate=validate.OneOf(TICKET_CATEGORIES))
    assigned_to = _text(255)
    q = _text(SEARCH_MAX, metadata={"description": "text in number, title, description, customer"})
    sort = fields.String(load_default="-created_at", validate=validate.OneOf(SORTS),
                         metadata={"description": "a field, '-' first for descending"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=PER_PAGE_MAX))


class TicketSchema(Schema):
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


class FieldChangeSchema(Schema):
    from_ = fields.Raw(data_key="from")
    to = fields.Raw()


class TicketUpdatedSchema(TicketSchema):
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(FieldChangeSchema),
                          metadata={"description": "what this update changed"})


class TicketPageSchema(Schema):
    items = fields.List(fields.Nested(TicketSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class HistoryEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String(validate=validate.OneOf(("created", "updated", "deleted")))
    field = fields.String(allow_none=True)
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)


class HistorySchema(Schema):
    items = fields.List(fields.Nested(HistoryEntrySchema))


# -- public tracker --

class TrackQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE  # a form also posts its button; only these two matter

    ticket = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"example": "TKT-00001"})
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class TimelineEntrySchema(Schema):
    at = fields.DateTime()
    kind = fields.String(validate=validate.OneOf(("created", "status", "priority")))
    from_ = fields.String(data_key="from", allow_none=True)
    to = fields.String(allow_none=True)
    text = fields.String(metadata={"example": "Status changed to in progress"})


class PublicTicketSchema(Schema):
    ticket_number = fields.String()
    title = fields.String()
    description = fields.String()
    status = fields.String()
    priority = fields.String()
    category = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntrySchema))


# -- errors --

class ErrorSchema(Schema):
    error = fields.String(metadata={"example": "not_found"})
    message = fields.String()


class ValidationErrorSchema(ErrorSchema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"example": {"title": ["Missing data for required field."]}})


def load(schema, data, **kwargs):
    """Validate; raises marshmallow's ValidationError, which errors.py turns into a 422."""
    if data is None:
        raise ValidationError({"_body": ["A JSON object is required."]})
    return schema.load(data, **kwargs)


TICKET_CREATE = TicketCreateSchema()
TICKET_UPDATE = TicketUpdateSchema(partial=True)
TICKET_LIST_QUERY = TicketListQuerySchema()
LOGIN = LoginSchema()
REFRESH = RefreshSchema()
TRACK_QUERY = TrackQuerySchema()
