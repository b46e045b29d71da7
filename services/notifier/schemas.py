"""The notifier's wire format: a delivery log row as plain JSON for RPC callers (the agent UI)."""
from marshmallow import Schema, fields


class DeliverySchema(Schema):
    id = fields.Integer()
    event_id = fields.UUID()
    event_type = fields.String()
    kind = fields.String()
    ticket_id = fields.UUID()
    ticket_number = fields.String()
    recipient = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String()
    message_id = fields.String()
    provider_message_id = fields.String()
    occurred_at = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    next_attempt_at = fields.DateTime()
    sent_at = fields.DateTime()


def dump_deliveries(rows):
    return DeliverySchema(many=True).dump(rows)


def dump_delivery(row):
    return DeliverySchema().dump(row)
