"""GET/PUT /api/sla through the gateway against a real tickets service: any agent reads, only an admin
writes (403 for role agent), invalid policies are 422 naming the field, and the list's SLA filters."""
import uuid

import pytest
from sqlalchemy.orm import Session

from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.roles import ADMIN_ONLY
from tests.fixtures.gateway import Tenant

API = "/api/sla"
OFFICE = {"timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "17:00"]], "fri": [["09:00", "13:00"]]},
          "holidays": ["2026-12-25"]}


@pytest.fixture
def admin(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[0])


@pytest.fixture
def agent(tenants, auth_headers, gateway_engine, password_hash, tickets_service):
    """A plain agent of the same client as the admin."""
    with Session(gateway_engine) as session:
        row = Agent(id=uuid.uuid4(), client_id=uuid.UUID(tenants[0].client_id), email="agent@acme.example",
                    name="Acme agent", role="agent", password_hash=password_hash, active=True)
        session.add(row)
        session.commit()
        return auth_headers(Tenant(tenants[0].client_id, "acme", row.email, str(row.id)))


def test_any_agent_reads_the_defaults(http, agent):
    response = http.get(API, headers=agent)
    assert response.status_code == 200
    body = response.get_json()
    assert body["default"] is True and body["calendar"] == {"timezone": "UTC", "hours": None, "holidays": []}
    assert body["targets"]["urgent"] == {"first_response_minutes": 60, "resolution_minutes": 480}
    assert body["targets"]["low"] == {"first_response_minutes": 1440, "resolution_minutes": 7200}


def test_an_admin_saves_a_policy_that_new_tickets_follow(http, admin, agent, tenants):
    response = http.put(API, json={"calendar": OFFICE, "targets": {"urgent": {"first_response_minutes": 30}}},
                        headers=admin)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()
    assert saved["calendar"] == OFFICE and saved["updated_by"] == tenants[0].email and not saved["default"]
    assert http.get(API, headers=agent).get_json() == saved
    ticket = http.post("/api/entities/ticket", json={"title": "t", "description": "d", "priority": "urgent"},
                       headers=agent).get_json()
    assert ticket["sla"]["first_response"]["target_minutes"] == 30


def test_an_agent_may_not_change_the_policy(http, agent):
    response = http.put(API, json={"targets": {"urgent": {"first_response_minutes": 5}}}, headers=agent)
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden", "message": ADMIN_ONLY}
    assert http.get(API, headers=agent).get_json()["targets"]["urgent"]["first_response_minutes"] == 60


def test_policies_are_per_client(http, admin, tenants, auth_headers):
    http.put(API, json={"calendar": OFFICE}, headers=admin)
    assert http.get(API, headers=auth_headers(tenants[1])).get_json()["default"] is True


@pytest.mark.parametrize("body, field", [
    ({"targets": {"urgent": {"first_response_minutes": 0}}}, "targets.urgent.first_response_minutes"),
    ({"targets": {"urgent": {"resolution_minutes": 30}}}, "targets.urgent.first_response_minutes"),
    ({"targets": {"critical": {"first_response_minutes": 5}}}, "targets.critical"),
    ({"calendar": {"timezone": "Mars/Base"}}, "calendar.timezone"),
    ({"calendar": {"timezone": "UTC", "hours": {"mon": [["17:00", "09:00"]]}}}, "calendar.hours.mon.0"),
    ({"calendar": {"timezone": "UTC", "holidays": ["25/12/2026"]}}, "calendar.holidays.0"),
    ({"sla": "fast"}, "sla"),
    ([1, 2], "_body"),
])
def test_invalid_policies_are_422_with_field_and_reason(http, admin, body, field):
    response = http.put(API, json=body, headers=admin)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert list(errors) == [field] and errors[field][0]
    assert http.get(API, headers=admin).get_json()["default"] is True  # nothing half-written


def test_without_a_token_it_is_401(http, tickets_service):
    assert http.get(API).status_code == 401
    assert http.put(API, json={}).status_code == 401


def test_the_list_filters_and_sorts_by_due_time(http, admin):
    for priority in ("low", "urgent", "high"):
        http.post("/api/entities/ticket", json={"title": priority, "description": "d", "priority": priority},
                  headers=admin)
    listed = http.get("/api/entities/ticket", query_string={"sort": "sla_due_at"}, headers=admin).get_json()
    assert [t["title"] for t in listed["items"]] == ["urgent", "high", "low"]
    assert http.get("/api/entities/ticket", query_string={"sla": "breached"}, headers=admin).get_json()["total"] == 0
    bad = http.get("/api/entities/ticket", query_string={"sla": "late"}, headers=admin)
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["sla"]
