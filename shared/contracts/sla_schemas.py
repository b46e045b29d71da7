"""The SLA policy's wire format (tickets RPCs get_sla/put_sla, gateway GET/PUT /api/sla), as marshmallow
schemas for the OpenAPI document. The tickets service validates it (services/tickets/sla.py:
parse_policy), naming a failing part by its dotted path, e.g. `targets.urgent.first_response_minutes`."""
from marshmallow import Schema, fields, validate

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TARGET_MINUTES = 365 * 24 * 60
MAX_HOLIDAYS = 500
MAX_INTERVALS_PER_DAY = 6


class SlaCalendarSchema(Schema):
    timezone = fields.String(metadata={"example": "Europe/Berlin", "description": "an IANA time zone"})
    hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(WEEKDAYS)),
        values=fields.List(fields.List(fields.String(), validate=validate.Length(equal=2)),
                           validate=validate.Length(max=MAX_INTERVALS_PER_DAY)),
        allow_none=True,
        metadata={"description": "open intervals per weekday as local [\"HH:MM\", \"HH:MM\"] (24:00 may end a day); "
                                 "a day left out is closed; null: open 24/7",
                  "example": {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:00"], ["13:00", "17:00"]]}},
    )
    holidays = fields.List(fields.String(), allow_none=True, validate=validate.Length(max=MAX_HOLIDAYS),
                           metadata={"description": "closed dates, YYYY-MM-DD (null: none)",
                                                      "example": ["2026-12-25"]})


class SlaTargetsSchema(Schema):
    first_response_minutes = fields.Integer(validate=validate.Range(min=1, max=MAX_TARGET_MINUTES),
                                            metadata={"description": "business minutes to the first public reply"})
    resolution_minutes = fields.Integer(validate=validate.Range(min=1, max=MAX_TARGET_MINUTES),
                                        metadata={"description": "business minutes to resolution"})


class SlaTargetsByPrioritySchema(Schema):
    low = fields.Nested(SlaTargetsSchema)
    medium = fields.Nested(SlaTargetsSchema)
    high = fields.Nested(SlaTargetsSchema)
    urgent = fields.Nested(SlaTargetsSchema)


class SlaPolicyInputSchema(Schema):
    """A client's SLA policy; priorities left out keep the defaults, a missing calendar is 24/7 in UTC.
    Time spent pending (waiting on the customer), resolved or closed does not count."""

    calendar = fields.Nested(SlaCalendarSchema, allow_none=True)
    targets = fields.Nested(SlaTargetsByPrioritySchema, allow_none=True,
                            metadata={"description": "null or left out: the defaults"})


class SlaPolicySchema(SlaPolicyInputSchema):
    default = fields.Boolean(metadata={"description": "true until an admin saves a policy"})
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)
