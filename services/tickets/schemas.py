"""The tickets service's wire formats: the shared contract's schemas, built once, and the actor."""
import datetime as dt
import uuid

from marshmallow import Schema, fields, missing

from shared.contracts.message_schemas import TicketCreateInputSchema
from shared.contracts.schemas import optional_text
from shared.contracts.ticket_schemas import (
    IMMUTABLE_FIELDS,
    HistoryEntrySchema,
    ListFiltersSchema,
    TicketInputSchema,
    TicketSchema,
)


class ActorSchema(Schema):
    actor = optional_text(255)


class IdempotencySchema(Schema):
    idempotency_key = optional_text(100)


class EmailMessageIdSchema(Schema):
    email_message_id = optional_text(998)


def _plain_dumper(schema):
    """A function giving what `schema.dump(obj)` gives, for the fields that need no marshmallow work.

    marshmallow spends ~0.1 ms per field and row walking its field objects (a list page of 20 tickets:
    ~2.5 ms; each create twice). Strings, UUIDs and date-times are written here as marshmallow writes
    them (str(), isoformat()); any other field (the nested SLA state) still goes through its field.
    The field list is the schema's, so a field added to the contract is dumped without a change here.
    """
    plain, other = [], []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        if type(field) in (fields.String, fields.UUID, fields.DateTime) and not getattr(field, "format", None):
            plain.append((field.data_key or name, attribute))
        else:
            other.append((field.data_key or name, attribute, field))

    def dump(obj):
        if isinstance(obj, dict):  # marshmallow's own rules for keys that may be absent
            return schema.dump(obj)
        result = {}
        for key, attribute in plain:
            value = getattr(obj, attribute, None)
            if value is None or type(value) is str:
                result[key] = value
            elif isinstance(value, dt.datetime):
                result[key] = value.isoformat()
            elif isinstance(value, uuid.UUID):
                result[key] = str(value)
            else:
                result[key] = str(value)
        for key, attribute, field in other:
            value = field.serialize(attribute, obj)
            if value is not missing:
                result[key] = value
        return result
    return dump


def dump_ticket(ticket):
    return _dump_ticket(ticket)


# Built once: a marshmallow schema costs more to construct than to use.
TICKET = TicketSchema()
_dump_ticket = _plain_dumper(TICKET)
HISTORY = HistoryEntrySchema(many=True)
TICKET_CREATE = TicketCreateInputSchema()
TICKET_UPDATE = TicketInputSchema(partial=True, exclude=IMMUTABLE_FIELDS)
LIST_FILTERS = ListFiltersSchema()
ACTOR = ActorSchema()
IDEMPOTENCY = IdempotencySchema()
EMAIL_MESSAGE_ID = EmailMessageIdSchema()
