"""The tickets service's wire formats: the shared contract's schemas, built once, and the actor."""
from marshmallow import Schema

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


def dump_ticket(ticket):
    return TICKET.dump(ticket)


# Built once: a marshmallow schema costs more to construct than to use.
TICKET = TicketSchema()
HISTORY = HistoryEntrySchema(many=True)
TICKET_CREATE = TicketCreateInputSchema()
TICKET_UPDATE = TicketInputSchema(partial=True, exclude=IMMUTABLE_FIELDS)
LIST_FILTERS = ListFiltersSchema()
ACTOR = ActorSchema()
IDEMPOTENCY = IdempotencySchema()
EMAIL_MESSAGE_ID = EmailMessageIdSchema()
