"""Webhooks' wire format (webhooks RPCs, gateway /api/webhooks): the events an endpoint may ask for, the
patterns that pick them, the headers each delivery carries, and the marshmallow schemas both sides load
and document. The webhooks process validates again (the URL's address rules live there, at send time)."""
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates

from shared.contracts.enums import (
    CHAT_CONVERSATION_ASSIGNED,
    CHAT_CONVERSATION_CLOSED,
    CHAT_CONVERSATION_MISSED,
    CHAT_CONVERSATION_STARTED,
    CHAT_MESSAGE_POSTED,
    TICKET_CREATED,
    TICKET_DELETED,
    TICKET_MESSAGE_ADDED,
    TICKET_SLA_BREACHED,
    TICKET_SLA_WARNING,
    TICKET_UPDATED,
)
from shared.contracts.schemas import StrictBoolean

# Published by the tickets service once ratings land (contract: the csat branch); listed here so that an
# endpoint can ask for it by name before then.
TICKET_RATED = "ticket.rated"
# What each event comes from: nameko's (source service, event type) pairs the webhooks process consumes.
DELIVERED_EVENTS = {
    TICKET_CREATED: "tickets", TICKET_UPDATED: "tickets", TICKET_DELETED: "tickets",
    TICKET_MESSAGE_ADDED: "tickets", TICKET_RATED: "tickets",
    TICKET_SLA_WARNING: "tickets", TICKET_SLA_BREACHED: "tickets",
    CHAT_CONVERSATION_STARTED: "chat", CHAT_MESSAGE_POSTED: "chat", CHAT_CONVERSATION_ASSIGNED: "chat",
    CHAT_CONVERSATION_CLOSED: "chat", CHAT_CONVERSATION_MISSED: "chat",
}
# Sent by "send a test event" only: never published, always delivered when asked for.
WEBHOOK_TEST = "webhook.test"
# An endpoint's `events` holds names above or these patterns.
PATTERNS = ("*", "ticket.*", "chat.*")
MAX_EVENTS = 30
MAX_URL = 2000
# The shape the document states (http or https, a host with no credentials, no spaces); url_problem says more.
URL_PATTERN = r"^https?://[^\s/?#@]+([/?#]\S*)?$"

SIGNATURE_HEADER = "Deskline-Signature"   # t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">
DELIVERY_HEADER = "Deskline-Delivery"     # the delivery's id: the same on every attempt, dedupe on it
EVENT_HEADER = "Deskline-Event"           # the event type, e.g. ticket.created

DELIVERY_STATUSES = ("pending", "sending", "delivered", "dead")


def matches(pattern, event_type):
    """Whether an endpoint's pattern (`*`, `ticket.*` or a name) picks this event type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def wants(patterns, event_type):
    return event_type == WEBHOOK_TEST or any(matches(pattern, event_type) for pattern in patterns)


def url_problem(url):
    """Why a URL cannot be an endpoint (None if it can): http(s), a host, no credentials in it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "Only http and https URLs can receive webhooks."
    if not parts.hostname:
        return "The URL needs a host name."
    if parts.username is not None or parts.password is not None:
        return "Put no user name or password in the URL; authenticate the signature instead."
    if port == 0:
        return "Port 0 cannot receive webhooks."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "The URL contains spaces or control characters."
    return None


def _event_name(value):
    return value in DELIVERED_EVENTS or value in PATTERNS


URL_DOC = {"description": "where deliveries are POSTed: http or https; addresses that resolve to loopback, private, "
                          "link-local or metadata ranges are refused when sent to (unless WEBHOOK_ALLOW_PRIVATE=true)",
           "example": "https://hooks.example.com/deskline"}
URL_RULES = [validate.Length(min=1, max=MAX_URL),
             validate.Regexp(URL_PATTERN, error="Use an http or https URL, with no spaces and no user name or password.")]
EVENTS_DOC = {"description": "event names, or the patterns `ticket.*`, `chat.*`, `*`",
              "example": ["ticket.*", "chat.conversation_started"]}
EVENT_NAME = validate.OneOf(sorted(DELIVERED_EVENTS) + list(PATTERNS))
EVENTS_RULE = validate.Length(min=1, max=MAX_EVENTS)


class WebhookInputSchema(Schema):
    """POST /api/webhooks: url and events required."""

    url = fields.String(required=True, validate=URL_RULES, metadata=URL_DOC)
    events = fields.List(fields.String(validate=EVENT_NAME), required=True, validate=EVENTS_RULE, metadata=EVENTS_DOC)
    active = StrictBoolean(load_default=True, metadata={"description": "false: nothing is delivered"})

    @validates("url")
    def _url(self, value, **kwargs):
        problem = url_problem(value)
        if problem:
            raise ValidationError(problem)


class WebhookUpdateSchema(WebhookInputSchema):
    """PATCH /api/webhooks/<id>: any of them; switching it on again (active: true) starts afresh."""

    url = fields.String(validate=URL_RULES, metadata=URL_DOC)
    events = fields.List(fields.String(validate=EVENT_NAME), validate=EVENTS_RULE, metadata=EVENTS_DOC)
    active = StrictBoolean(metadata={"description": "false: nothing is delivered"})


class WebhookAttemptSchema(Schema):
    number = fields.Integer()
    started_at = fields.DateTime()
    latency_ms = fields.Integer(allow_none=True)
    status_code = fields.Integer(allow_none=True, metadata={"description": "the receiver's HTTP status, if any"})
    error = fields.String(allow_none=True, metadata={"description": "why it failed (timeout, refused address, ...)"})
    response_excerpt = fields.String(allow_none=True, metadata={"description": "the response body's start (capped)"})
    ok = fields.Boolean()


class WebhookDeliverySchema(Schema):
    id = fields.Integer(metadata={"description": "also the Deskline-Delivery header: receivers dedupe on it"})
    event_id = fields.UUID()
    event_type = fields.String()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_latency_ms = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    attempt_log = fields.List(fields.Nested(WebhookAttemptSchema), metadata={"description": "newest first"})


class WebhookSchema(Schema):
    id = fields.UUID()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    failing_since = fields.DateTime(allow_none=True, metadata={"description": "first failure of the current streak"})
    disabled_reason = fields.String(allow_none=True, metadata={"description": "why it was switched off, if it was"})
    secret_hint = fields.String(metadata={"description": "the secret's last 4 characters"})


class WebhookCreatedSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "the signing secret: shown this once, never again"})


class WebhookListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema))


class WebhookDeliveryListSchema(Schema):
    items = fields.List(fields.Nested(WebhookDeliverySchema), metadata={"description": "newest first (at most 50)"})


WEBHOOK_CREATE = WebhookInputSchema()
WEBHOOK_UPDATE = WebhookUpdateSchema()
