"""The reports' wire format (tickets RPC `report`, gateway GET /api/reports/<name>[.csv]): the query every report
takes (a date range and filters), and what each answers. The gateway loads the query string with these classes
(early 422s naming the field, and its OpenAPI document); the tickets service loads it again.

Days are UTC calendar days; `from` and `to` are both included. Every report answers `columns` and `rows` (the
table the page shows and the CSV holds, cell for cell) beside its own summary figures.
"""
from datetime import date, datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, post_load, validate

from shared.contracts.enums import TICKET_CATEGORIES, TICKET_CHANNELS, TICKET_PRIORITIES
from shared.contracts.schemas import Text

REPORTS = ("volume", "response-times", "sla", "satisfaction")
# What response times are grouped by; "agent" is the assignee.
DIMENSIONS = ("priority", "category", "channel", "agent")
RATINGS = ("good", "okay", "bad")
MAX_DAYS = 366
DEFAULT_DAYS = 30
# Outside these years a date is a typo, and far ones would overflow the arithmetic on them.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
DATE_DESCRIPTION = "a UTC calendar day, YYYY-MM-DD (2000-01-01 to 2099-12-31), included"


def _day(description):
    return fields.Date(format="%Y-%m-%d", validate=validate.Range(min=EARLIEST, max=LATEST),
                       metadata={"description": description})


class ReportQuerySchema(Schema):
    """The range and filters of every report: `from`..`to` at most 366 days (default: the 30 days ending today)."""

    # "from" is a Python keyword: the attribute is from_, the wire name "from".
    from_ = _day(f"first day; default: 29 days before `to` ({DATE_DESCRIPTION})")
    from_.data_key = "from"
    to = _day(f"last day; default: today ({DATE_DESCRIPTION})")
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    category = fields.String(validate=validate.OneOf(TICKET_CATEGORIES))
    channel = fields.String(validate=validate.OneOf(TICKET_CHANNELS),
                            metadata={"description": "where tickets came from (web: the support form)"})
    assigned_to = Text(validate=validate.Length(min=1, max=255), metadata={"description": "the assignee's e-mail"})

    @post_load
    def _range(self, data, **kwargs):
        end = data.get("to") or today()
        start = data.get("from_") or max(end - timedelta(days=DEFAULT_DAYS - 1), EARLIEST)
        if end < start:
            raise ValidationError("must not be before from", "to")
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError(f"the range is at most {MAX_DAYS} days", "to")
        data["from_"], data["to"] = start, end
        return data


class ResponseTimesQuerySchema(ReportQuerySchema):
    by = fields.String(load_default="priority", validate=validate.OneOf(DIMENSIONS),
                       metadata={"description": "what the rows are: priority, category, channel or agent (assignee)"})


QUERY_SCHEMAS = {"volume": ReportQuerySchema, "response-times": ResponseTimesQuerySchema,
                 "sla": ReportQuerySchema, "satisfaction": ReportQuerySchema}


def today():
    return datetime.now(timezone.utc).date()


def load_query(report, args):
    """The loaded query of `report` (dates as date objects); marshmallow's ValidationError names the field."""
    return QUERY_SCHEMAS[report]().load(args)


def dump_query(query):
    """The loaded query as plain JSON values for the RPC (dates as YYYY-MM-DD, `from` by its wire name)."""
    dumped = {("from" if key == "from_" else key): value for key, value in query.items()}
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in dumped.items()}


# -- answers (for the document) --

class VolumeRowSchema(Schema):
    date = fields.Date(metadata={"description": "a UTC day"})
    created = fields.Integer(metadata={"description": "tickets created that day"})
    resolved = fields.Integer(metadata={"description": "tickets resolved that day (and not reopened since)"})
    backlog = fields.Integer(metadata={"description": "tickets open (created, not resolved) at the end of the day"})


class VolumeSchema(Schema):
    """Tickets created and resolved per day, and the backlog at the end of each day."""

    from_ = fields.Date(data_key="from")
    to = fields.Date()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(VolumeRowSchema))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True),
                         metadata={"description": "created and resolved in the range; backlog at its start and end"})


class ResponseTimeRowSchema(Schema):
    key = fields.String(allow_none=True, metadata={"description": "the group's value; \"all\" on the last row (all the "
                                                                  "tickets); by agent, null for the unassigned"})
    tickets = fields.Integer(metadata={"description": "tickets created in the range"})
    responded = fields.Integer(metadata={"description": "of which have had a first public reply"})
    first_response_median_s = fields.Float(allow_none=True, metadata={"description": "seconds (wall clock)"})
    first_response_p90_s = fields.Float(allow_none=True)
    resolved = fields.Integer(metadata={"description": "of which are resolved"})
    resolution_median_s = fields.Float(allow_none=True)
    resolution_p90_s = fields.Float(allow_none=True)


class ResponseTimesSchema(Schema):
    """First response and resolution times (median and 90th percentile) of the tickets created in the range."""

    from_ = fields.Date(data_key="from")
    to = fields.Date()
    by = fields.String(validate=validate.OneOf(DIMENSIONS))
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(ResponseTimeRowSchema))


class SlaRowSchema(Schema):
    priority = fields.String(metadata={"description": "\"all\" on the last row (all priorities)"})
    tickets = fields.Integer(metadata={"description": "tickets created in the range with SLA targets"})
    first_response_met = fields.Integer()
    first_response_breached = fields.Integer(metadata={"description": "answered late, or unanswered past due"})
    first_response_attainment = fields.Float(allow_none=True, metadata={"description": "met / (met + breached), %"})
    resolution_met = fields.Integer()
    resolution_breached = fields.Integer()
    resolution_attainment = fields.Float(allow_none=True)


class SlaReportSchema(Schema):
    """SLA attainment per priority of the tickets created in the range (the tickets service's SLA outcomes)."""

    from_ = fields.Date(data_key="from")
    to = fields.Date()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(SlaRowSchema))


class SatisfactionRowSchema(Schema):
    rating = fields.String(validate=validate.OneOf(RATINGS))
    count = fields.Integer()
    percent = fields.Float(allow_none=True, metadata={"description": "of the rated tickets; null when none was rated"})


class SatisfactionSchema(Schema):
    """The latest ratings given in the range: the score and the distribution."""

    from_ = fields.Date(data_key="from")
    to = fields.Date()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    rated = fields.Integer(metadata={"description": "tickets whose latest rating was given in the range"})
    score = fields.Float(allow_none=True, metadata={"description": "good / rated x 100; null when none was rated"})
    columns = fields.List(fields.String())
    rows = fields.List(fields.Nested(SatisfactionRowSchema))


ANSWER_SCHEMAS = {"volume": VolumeSchema, "response-times": ResponseTimesSchema, "sla": SlaReportSchema,
                  "satisfaction": SatisfactionSchema}
