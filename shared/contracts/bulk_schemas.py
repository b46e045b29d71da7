"""The tickets service's bulk contract (`tickets.bulk_update`, `POST /api/entities/ticket/bulk`) and its
queues (`tickets.queue_counts`, the list's `queue` filter): what a batch may hold and say.

The gateway validates request bodies with these classes (for early 422s and its OpenAPI document),
the tickets service validates again.
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.contracts.schemas import StrictBoolean
from shared.contracts.ticket_schemas import ListFiltersSchema, TicketInputSchema

# One request, one transaction: a batch is bounded so that it completes within the call's timeout.
BULK_MAX = 1000
# What a batch may set: the fields an agent triages with (the status, priority, category, assignee).
BULK_FIELDS = ("status", "priority", "category", "assigned_to")



class BulkChangesSchema(TicketInputSchema):
    """The fields a batch sets, each optional (assigned_to null: unassign)."""

    class Meta:
        fields = BULK_FIELDS


class TicketRef(fields.Field):
    """A ticket's id or number, or {ticket, changes}: that ticket's own changes over the batch's."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and 0 < len(value.strip()) <= 64:
            return {"ticket": value.strip(), "changes": {}}
        if isinstance(value, dict) and set(value) <= {"ticket", "changes"} and isinstance(value.get("ticket"), str) \
                and 0 < len(value["ticket"].strip()) <= 64 and isinstance(value.get("changes", {}), dict):
            return {"ticket": value["ticket"].strip(), "changes": value.get("changes", {})}
        raise ValidationError("A ticket id or number, or {ticket, changes}.")


class BulkFilterSchema(ListFiltersSchema):
    """The list's filters (its queue, fields and search), without paging or sort."""

    class Meta:
        exclude = ("client_id", "page", "per_page", "sort")


class BulkRequestSchema(Schema):
    """Tickets by reference or by filter; changes to set, or delete: true."""

    tickets = fields.List(TicketRef(), validate=validate.Length(min=1, max=BULK_MAX),
                          metadata={"description": f"ids or numbers (at most {BULK_MAX}); an item may be "
                                                   "{ticket, changes} to set that ticket's own changes over the batch's"})
    filter = fields.Nested(BulkFilterSchema, metadata={
        "description": f"the list's filters: every matching ticket (at most {BULK_MAX})"})
    changes = fields.Nested(BulkChangesSchema(partial=True))
    delete = StrictBoolean(load_default=False)

    @validates_schema
    def one_selection_one_action(self, data, **kwargs):
        if ("tickets" in data) == ("filter" in data):
            raise ValidationError("Give either tickets or filter.", "tickets")
        if data.get("delete") and data.get("changes"):
            raise ValidationError("Give either changes or delete: true.", "changes")
        if not data.get("delete") and not data.get("changes") and not any(
                item["changes"] for item in data.get("tickets", [])):
            raise ValidationError("Nothing to change: give changes or delete: true.", "changes")


class BulkFailureSchema(Schema):
    ticket = fields.String(metadata={"example": "TKT-00042"})
    error = fields.String(metadata={"example": "not_found", "description": "validation_error, not_found or rejected"})
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "for validation_error, the reasons per field; else empty"})


class BulkResultSchema(Schema):
    changed = fields.Integer(metadata={"description": "tickets changed (or deleted), each with its history entry and event"})
    unchanged = fields.Integer(metadata={"description": "tickets that already had these values"})
    failed = fields.List(fields.Nested(BulkFailureSchema), metadata={
        "description": "tickets left exactly as they were, and why"})
