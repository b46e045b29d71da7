"""The event envelope every service publishes: {event_id, event_type, occurred_at, version, data}.

Events are a published contract: add fields, never repurpose them.
"""
import uuid
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields

ENVELOPE_VERSION = 1


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    version = fields.Integer(required=True)
    data = fields.Dict(required=True)


ENVELOPE = EnvelopeSchema()


def make_envelope(event_type, data, event_id=None, occurred_at=None):
    """Build an envelope as plain JSON values, ready for the wire."""
    return ENVELOPE.dump(
        {
            "event_id": event_id or uuid.uuid4(),
            "event_type": event_type,
            "occurred_at": occurred_at or datetime.now(timezone.utc),
            "version": ENVELOPE_VERSION,
            "data": data,
        }
    )


class MalformedEvent(ValueError):
    """An event that cannot be read: retrying it will never help (consumers park it)."""


def parse_envelope(payload):
    """Validate an incoming envelope; raises MalformedEvent if it is not one."""
    try:
        return ENVELOPE.load(payload)
    except ValidationError as exc:
        raise MalformedEvent(f"not an event envelope: {exc.messages}") from None
