"""The agent API's reports (`GET /api/reports/<name>` as JSON, `/api/reports/<name>.csv` as the same table in CSV):
volume, response-times, sla, satisfaction over the token's client's tickets. The tickets service owns the data and
computes them (services/tickets/reports.py); the query format is shared/contracts/report_schemas.py's."""
import csv
import io

from flask import Blueprint, Response, g, jsonify, request

from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api.openapi import CSV, documented
from services.tracker_gateway.core.rpc import tickets
from shared.contracts import report_schemas

bp = Blueprint("api_reports", __name__, url_prefix="/api/reports")

# A cell starting with one of these is a formula to a spreadsheet: written with a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def fetch(report):
    """The report for this request's query string, scoped to the token's client (422 on a bad field)."""
    query = report_schemas.load_query(report, request.args.to_dict())
    return tickets().report(report, report_schemas.dump_query(query), g.principal.client_id)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(result):
    """The report's table (its columns, then its rows) as CSV text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(result["columns"])
    for row in result["rows"]:
        writer.writerow([_cell(row[column]) for column in result["columns"]])
    return out.getvalue()


def csv_response(report, result):
    suffix = f"-by-{result['by']}" if "by" in result else ""
    filename = f"{report}{suffix}_{result['from']}_{result['to']}.csv"
    return Response(to_csv(result), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _add(report, title):
    query, answer = report_schemas.QUERY_SCHEMAS[report], report_schemas.ANSWER_SCHEMAS[report]

    def as_json():
        return jsonify(fetch(report))

    def as_csv():
        return csv_response(report, fetch(report))

    as_json.__doc__ = f"{title}. {answer.__doc__.strip()}"
    as_csv.__doc__ = f"{title}, as CSV: the JSON answer's `columns` as the header, then its `rows`."
    endpoint = report.replace("-", "_")
    bp.add_url_rule(f"/{report}", f"{endpoint}", login_required(
        documented("reports", query=query, responses={200: (title, answer)})(as_json)))
    bp.add_url_rule(f"/{report}.csv", f"{endpoint}_csv", login_required(
        documented("reports", query=query, responses={200: (f"{title} (CSV)", CSV)})(as_csv)))


_add("volume", "Tickets created and resolved per day, and the backlog")
_add("response-times", "First response and resolution times by priority, category, channel or agent")
_add("sla", "SLA attainment per priority")
_add("satisfaction", "Satisfaction score and distribution")
