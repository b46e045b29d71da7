"""GET /api/reports/<name>[.csv] through the gateway against a real tickets service: the fixture's figures
(tests/fixtures/reports.py) scoped to the token's client, the CSV equal to the JSON table cell for cell,
every answer as the OpenAPI document describes it, bad ranges and filters 422 with the field."""
import csv
import io

import pytest
from sqlalchemy.orm import sessionmaker

from tests.fixtures.openapi import assert_documented
from tests.fixtures.reports import BOB, FROM, TO, make_tickets, rate

NAMES = ("volume", "response-times", "sla", "satisfaction")
RANGE = f"from={FROM}&to={TO}"


@pytest.fixture
def acme(tenants, auth_headers, tickets_service, tickets_engine):
    with sessionmaker(bind=tickets_engine)() as session:
        rate(session, make_tickets(session, acme=tenants[0].client_id, globex=tenants[1].client_id))
    return auth_headers(tenants[0])


@pytest.fixture
def agent(tenants, auth_headers):
    """acme's admin with no tickets behind: what is refused never reaches the tickets service."""
    return auth_headers(tenants[0])


@pytest.fixture
def spec(http, gateway_db):
    return http.get("/api/openapi.json").get_json()


def cell(value):
    return "" if value is None else str(value)


@pytest.mark.parametrize("name", NAMES)
def test_each_report_as_json_and_as_the_same_table_in_csv(http, acme, spec, name):
    query = f"{RANGE}&by=agent" if name == "response-times" else RANGE
    response = http.get(f"/api/reports/{name}?{query}", headers=acme)
    assert response.status_code == 200, response.get_json()
    assert_documented(spec, "GET", f"/api/reports/{name}", response)
    body = response.get_json()
    download = http.get(f"/api/reports/{name}.csv?{query}", headers=acme)
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert_documented(spec, "GET", f"/api/reports/{name}.csv", download)
    suffix = "-by-agent" if name == "response-times" else ""
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}{suffix}_{FROM}_{TO}.csv"'
    table = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert table[0] == body["columns"]
    assert table[1:] == [[cell(row[column]) for column in body["columns"]] for row in body["rows"]]
    assert len(table) > 1


def test_the_figures_are_the_token_clients_only(http, acme, tenants, auth_headers):
    volume = http.get(f"/api/reports/volume?{RANGE}", headers=acme).get_json()
    assert volume["totals"] == {"created": 7, "resolved": 6, "backlog_start": 2, "backlog_end": 3}
    rows = http.get(f"/api/reports/response-times?{RANGE}", headers=acme).get_json()["rows"]
    assert rows[-1] == {"key": "all", "tickets": 7, "responded": 6, "first_response_median_s": 2700.0,
                        "first_response_p90_s": 6300.0, "resolved": 5, "resolution_median_s": 14400.0,
                        "resolution_p90_s": 86400.0}
    assert http.get(f"/api/reports/sla?{RANGE}", headers=acme).get_json()["rows"][-1]["first_response_attainment"] == 71.4
    satisfaction = http.get(f"/api/reports/satisfaction?{RANGE}", headers=acme).get_json()
    assert (satisfaction["rated"], satisfaction["score"]) == (5, 60.0)
    # globex's admin sees globex's one ticket; a client_id in the query is refused, not obeyed.
    globex = auth_headers(tenants[1])
    assert http.get(f"/api/reports/volume?{RANGE}", headers=globex).get_json()["totals"]["created"] == 1
    refused = http.get(f"/api/reports/volume?{RANGE}&client_id={tenants[0].client_id}", headers=globex)
    assert refused.status_code == 422 and "client_id" in refused.get_json()["errors"]


def test_filters_are_applied_and_echoed(http, acme):
    body = http.get(f"/api/reports/satisfaction?{RANGE}&assigned_to={BOB}&channel=email", headers=acme).get_json()
    assert body["filters"] == {"assigned_to": BOB, "channel": "email"}
    assert body["rated"] == 1 and body["score"] == 100.0  # T7


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("query, field", [
    ("from=2026-11-05&to=2026-11-04", "to"),
    ("from=2024-01-01&to=2026-11-04", "to"),
    ("from=04/11/2026", "from"),
    ("to=2026-02-30", "to"),
    ("from=1999-12-31", "from"),
    ("priority=critical", "priority"),
    ("category=toys", "category"),
    ("channel=fax", "channel"),
    ("assigned_to=", "assigned_to"),
    ("colour=red", "colour"),
])
def test_bad_ranges_and_filters_are_422_with_the_field(http, agent, spec, name, query, field):
    for suffix in ("", ".csv"):
        response = http.get(f"/api/reports/{name}{suffix}?{query}", headers=agent)
        assert response.status_code == 422, (suffix, response.data)
        assert field in response.get_json()["errors"]
        assert_documented(spec, "GET", f"/api/reports/{name}{suffix}", response)


def test_response_times_by_must_be_a_dimension(http, agent):
    response = http.get("/api/reports/response-times?by=customer", headers=agent)
    assert response.status_code == 422 and "by" in response.get_json()["errors"]
    assert http.get("/api/reports/volume?by=agent", headers=agent).status_code == 422


@pytest.mark.parametrize("path", [f"/api/reports/{name}" for name in NAMES] + [f"/api/reports/{name}.csv" for name in NAMES])
def test_reports_need_a_token(http, gateway_db, path):
    assert http.get(path).status_code == 401


def test_a_formula_in_a_cell_is_written_as_text():
    from services.tracker_gateway.api.reports import to_csv
    text = to_csv({"columns": ["key", "tickets"], "rows": [{"key": "=HYPERLINK(1)", "tickets": 2},
                                                           {"key": None, "tickets": 3}]})
    assert text == "key,tickets\r\n'=HYPERLINK(1),2\r\n,3\r\n"
