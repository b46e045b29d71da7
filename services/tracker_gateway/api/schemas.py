"""The gateway's request and response formats (marshmallow): the same classes validate requests
and describe them in the OpenAPI document (openapi.py).

Ticket bodies are validated with the tickets service's own contract (shared/contracts/ticket_schemas.py):
the gateway's check gives early 422s and an accurate document, the service checks again.
"""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.contracts.enums import RATINGS
from shared.contracts.schemas import PageSchema, Text
from shared.contracts.sla_schemas import SlaPolicyInputSchema, SlaPolicySchema  # noqa: F401  (for api/sla.py)
from shared.contracts.ticket_schemas import (  # noqa: F401  (TicketSchema, HistoryEntrySchema: re-exported for openapi.py)
    IMMUTABLE_FIELDS,
    HistoryEntrySchema,
    ListFiltersSchema,
    TicketInputSchema,
    TicketSchema,
)

# -- authentication --

class LoginSchema(Schema):
    email = Text(required=True, validate=validate.Length(min=1, max=254))  # Text: no NUL reaches the query
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LogoutSchema(Schema):
    """Logging out: the body is optional; with it, the refresh token of the same login is revoked too."""

    refresh_token = fields.String(validate=validate.Length(min=1, max=200))


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


# -- tickets: the tickets service's own contract, less what the access token supplies --

class TicketCreateSchema(TicketInputSchema):
    """A new ticket. The client and the creator come from the access token, never from the body."""

    channel = fields.String(load_default="api", validate=validate.OneOf(("api", "agent")), metadata={
        "description": "agent: an agent records a phone call or a walk-in; api (default): another system"})

    class Meta:
        exclude = ("client_id", "created_by")


class TicketUpdateSchema(TicketInputSchema):
    """Any subset of the fields; who owns and opened the ticket, and where from, are fixed."""

    class Meta:
        exclude = IMMUTABLE_FIELDS


class TicketListQuerySchema(ListFiltersSchema):
    class Meta:
        exclude = ("client_id",)


class FieldChangeSchema(Schema):
    from_ = fields.Raw(data_key="from")
    to = fields.Raw()


class TicketUpdatedSchema(TicketSchema):
    changes = fields.Dict(keys=fields.String(), values=fields.Nested(FieldChangeSchema),
                          metadata={"description": "what this update changed"})


class TicketPageSchema(PageSchema):
    items = fields.List(fields.Nested(TicketSchema))
    total_exact = fields.Boolean(metadata={
        "description": "false when more than 1,000 tickets match: `total` is then PostgreSQL's estimate"})


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
    kind = fields.String(validate=validate.OneOf(("created", "status", "priority", "category", "title", "rating")))
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
    rating = fields.String(allow_none=True, validate=validate.OneOf(RATINGS),
                           metadata={"description": "the customer's latest satisfaction rating of the resolution"})
    rated_at = fields.DateTime(allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    client_name = fields.String(allow_none=True, metadata={"description": "Whose ticket it is (numbers are per client)"})


class PublicTrackSchema(PublicTicketSchema):
    matches = fields.List(fields.Nested(PublicTicketSchema), metadata={
        "description": "Every client's ticket with this number and e-mail, the latest updated first (itself too)"})


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
LOGOUT = LogoutSchema()
TRACK_QUERY = TrackQuerySchema()
