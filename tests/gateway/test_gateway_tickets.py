"""The ticket API through the gateway against a real tickets service: CRUD, filters, history,
tenancy (another client's ticket is 404 everywhere), validation and service outages."""
import time

import pytest

from services.tickets.service import TicketsService

API = "/api/entities/ticket"


@pytest.fixture
def acme(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[0])


@pytest.fixture
def globex(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[1])


def create(http, headers, **fields):
    body = {"title": "Printer on fire", "description": "It is on fire.", "customer_email": "kira@example.com", **fields}
    response = http.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_takes_the_client_and_creator_from_the_token(http, acme, tenants):
    ticket = create(http, acme, priority="urgent", category="technical", customer_name="Kira")
    assert ticket["ticket_number"] == "TKT-00001"
    assert ticket["client_id"] == tenants[0].client_id
    assert ticket["created_by"] == tenants[0].email
    assert (ticket["status"], ticket["priority"], ticket["category"]) == ("open", "urgent", "technical")


def test_the_body_cannot_choose_the_client_or_the_creator(http, acme, tenants):
    response = http.post(API, json={"title": "t", "description": "d", "client_id": tenants[1].client_id,
                                    "created_by": "someone"}, headers=acme)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"client_id": ["Unknown field."], "created_by": ["Unknown field."]}


def test_get_by_id_and_by_number(http, acme):
    ticket = create(http, acme)
    by_id = http.get(f"{API}/{ticket['id']}", headers=acme)
    by_number = http.get(f"{API}/{ticket['ticket_number']}", headers=acme)
    assert by_id.status_code == by_number.status_code == 200
    assert by_id.get_json() == by_number.get_json() == ticket


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_accepts_a_partial_body_and_reports_changes(http, acme, tenants, method):
    ticket = create(http, acme)
    response = getattr(http, method)(f"{API}/{ticket['ticket_number']}", json={"status": "in_progress", "priority": "high"},
                                     headers=acme)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["priority"], body["title"]) == ("in_progress", "high", "Printer on fire")
    assert body["changes"] == {"status": {"from": "open", "to": "in_progress"}, "priority": {"from": "medium", "to": "high"}}
    assert http.get(f"{API}/{ticket['id']}", headers=acme).get_json()["status"] == "in_progress"


def test_delete_is_204_and_the_ticket_is_gone(http, acme):
    ticket = create(http, acme)
    response = http.delete(f"{API}/{ticket['id']}", headers=acme)
    assert response.status_code == 204 and response.data == b""
    assert http.get(f"{API}/{ticket['id']}", headers=acme).status_code == 404
    assert http.get(API, headers=acme).get_json()["total"] == 0


def test_history_records_creation_and_each_change_with_the_agent(http, acme, tenants):
    ticket = create(http, acme)
    http.patch(f"{API}/{ticket['id']}", json={"status": "resolved"}, headers=acme)
    response = http.get(f"{API}/{ticket['ticket_number']}/history", headers=acme)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["action"], i["field"], i["old_value"], i["new_value"]) for i in items] == [
        ("created", None, None, None), ("updated", "status", "open", "resolved")]
    assert {i["actor"] for i in items} == {tenants[0].email}


def test_list_filters_sort_and_pages(http, acme):
    create(http, acme, title="Alpha", status="open", priority="low", category="billing", assigned_to="ann")
    create(http, acme, title="Bravo printer", status="pending", priority="urgent", category="technical", assigned_to="bob")
    create(http, acme, title="Charlie", status="open", priority="high", category="technical", customer_name="Zed Printer")

    def numbers(**params):
        response = http.get(API, query_string=params, headers=acme)
        assert response.status_code == 200, response.get_json()
        return [item["ticket_number"] for item in response.get_json()["items"]]

    assert numbers() == ["TKT-00003", "TKT-00002", "TKT-00001"]  # newest first
    assert numbers(status="open") == ["TKT-00003", "TKT-00001"]
    assert numbers(priority="urgent") == ["TKT-00002"]
    assert numbers(category="technical") == ["TKT-00003", "TKT-00002"]
    assert numbers(assigned_to="ann") == ["TKT-00001"]
    assert numbers(q="printers") == ["TKT-00003", "TKT-00002"]  # words, stemmed, in any field (customer too)
    assert numbers(sort="ticket_number") == ["TKT-00001", "TKT-00002", "TKT-00003"]
    assert numbers(sort="-priority") == ["TKT-00002", "TKT-00003", "TKT-00001"]
    page = http.get(API, query_string={"sort": "ticket_number", "page": 2, "per_page": 2}, headers=acme).get_json()
    assert page == {"items": page["items"], "total": 3, "total_exact": True, "page": 2, "per_page": 2}
    assert [item["ticket_number"] for item in page["items"]] == ["TKT-00003"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"per_page": 101}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"page": "two"}, "page"),
        ({"status": "bogus"}, "status"),
        ({"priority": "asap"}, "priority"),
        ({"category": "misc"}, "category"),
        ({"sort": "password"}, "sort"),
        ({"q": "x" * 201}, "q"),
        ({"client_id": "someone-else"}, "client_id"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(http, acme, params, field):
    response = http.get(API, query_string=params, headers=acme)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error" and list(body["errors"]) == [field]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"description": "d"}, "title"),
        ({"title": "x" * 201, "description": "d"}, "title"),
        ({"title": "t", "description": "d", "priority": "asap"}, "priority"),
        ({"title": "t", "description": "d", "status": 3}, "status"),
        ({"title": "t", "description": "d", "ticket_number": "TKT-99999"}, "ticket_number"),
        # Checked by the tickets service, which answers with its typed ValidationError:
        ({"title": "   ", "description": "d"}, "title"),
        ({"title": "t", "description": "d", "customer_email": "not-an-email"}, "customer_email"),
    ],
)
def test_bad_bodies_are_422_with_field_errors(http, acme, body, field):
    response = http.post(API, json=body, headers=acme)
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    assert list(errors) == [field] and all(isinstance(reason, str) for reason in errors[field])


def test_a_body_that_is_not_a_json_object_is_422(http, acme):
    for data in ("not json", "[1, 2]", "null"):
        response = http.post(API, data=data, content_type="application/json", headers=acme)
        assert response.status_code == 422, data
        assert "errors" in response.get_json()


def test_bad_update_bodies_are_422(http, acme):
    ticket = create(http, acme)
    response = http.patch(f"{API}/{ticket['id']}", json={"status": "done", "client_id": "x"}, headers=acme)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"status", "client_id"}


def test_unknown_and_malformed_references_are_404(http, acme):
    for ref in ("TKT-99999", "00000000-0000-0000-0000-000000000000", "nonsense"):
        assert http.get(f"{API}/{ref}", headers=acme).status_code == 404


def test_another_clients_ticket_is_404_on_every_endpoint(http, acme, globex):
    theirs = create(http, globex)
    for ref in (theirs["id"], theirs["ticket_number"]):
        responses = {
            "get": http.get(f"{API}/{ref}", headers=acme),
            "put": http.put(f"{API}/{ref}", json={"status": "closed"}, headers=acme),
            "patch": http.patch(f"{API}/{ref}", json={"priority": "low"}, headers=acme),
            "delete": http.delete(f"{API}/{ref}", headers=acme),
            "history": http.get(f"{API}/{ref}/history", headers=acme),
        }
        assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 404)
        assert all(r.get_json() == {"error": "not_found", "message": "Not found."} for r in responses.values())
    assert http.get(API, headers=acme).get_json()["total"] == 0
    # Untouched, and still theirs.
    still = http.get(f"{API}/{theirs['id']}", headers=globex).get_json()
    assert (still["status"], still["priority"]) == ("open", "medium")


def test_a_number_both_clients_have_finds_only_the_tokens_clients_ticket(http, acme, globex):
    ours = create(http, acme, title="Ours")
    theirs = create(http, globex, title="Theirs")
    assert ours["ticket_number"] == theirs["ticket_number"] == "TKT-00001"  # each client numbers its own
    for path in ("", "/history"):
        assert http.get(f"{API}/TKT-00001{path}", headers=acme).status_code == 200
    assert http.get(f"{API}/TKT-00001", headers=acme).get_json()["id"] == ours["id"]
    assert http.get(f"{API}/tkt-00001", headers=globex).get_json()["title"] == "Theirs"
    changed = http.patch(f"{API}/TKT-00001", json={"priority": "urgent"}, headers=acme)
    assert changed.status_code == 200 and changed.get_json()["id"] == ours["id"]
    assert http.get(f"{API}/{theirs['id']}", headers=globex).get_json()["priority"] == "medium"  # untouched
    assert http.get(f"{API}/TKT-00002", headers=acme).status_code == 404
    second = create(http, globex)
    assert second["ticket_number"] == "TKT-00002" and http.get(f"{API}/TKT-00002", headers=acme).status_code == 404


def test_tickets_service_down_is_a_quick_503(http, acme, tickets_service, gateway_app):
    create(http, acme)
    tickets_service.stop()
    started = time.monotonic()
    response = http.get(API, headers=acme)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "service_unavailable" and "tickets" in body["message"]
    assert response.headers["Retry-After"]
    assert elapsed < gateway_app.config["RPC_TIMEOUT"] + 1.5
    # A write that timed out may still happen (its message waits in the service's queue, and the
    # service commits before replying): 504, outcome unknown, never "try again".
    write = http.post(API, json={"title": "t", "description": "d"}, headers=acme)
    assert write.status_code == 504 and "Retry-After" not in write.headers
    assert write.get_json()["error"] == "outcome_unknown" and "Check before trying again" in write.get_json()["message"]
    # Readiness is unavailable (and says which dependency is missing to the log, not to the caller).
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.get_json() == {"status": "unavailable"}


def test_service_never_started_is_503(http, tenants, auth_headers):
    # No tickets service has ever run on this vhost: nameko reports an unknown service at once.
    response = http.get(API, headers=auth_headers(tenants[0]))
    assert response.status_code == 503
    assert response.get_json()["error"] == "service_unavailable"
    # Known not to have run: a write is a plain 503, safe to retry.
    write = http.post(API, json={"title": "t", "description": "d"}, headers=auth_headers(tenants[0]))
    assert write.status_code == 503 and write.get_json()["error"] == "service_unavailable"


def test_the_pool_recovers_after_the_service_comes_back(http, acme, tickets_service, container_factory, tickets_config):
    create(http, acme)
    tickets_service.stop()
    assert http.get(API, headers=acme).status_code == 503
    container_factory(TicketsService, tickets_config).start()  # a stopped container does not restart
    assert http.get(API, headers=acme).get_json()["total"] == 1


def readiness_of(app):
    from services.tracker_gateway.core import health

    with app.app_context():
        return health.readiness()


def test_readiness_and_liveness(http, gateway_app, tickets_service, gateway_db, caplog):
    assert http.get("/healthz").get_json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready"}  # a public port: no inventory of what runs behind it
    assert readiness_of(gateway_app) == {
        "status": "ready", "checks": {"database": "ok", "redis": "ok", "tickets": "ok"},
        "optional": {"tracker_projector": "service not running", "notifier": "service not running",
                     "chat": "service not running"},
    }
    # What does not answer is in the log, for the operator.
    assert any("notifier" in record.getMessage() for record in caplog.records if record.name.endswith("health"))


def test_readiness_reports_the_other_services_without_failing_on_them(
        gateway_settings, gateway_db, tickets_service, tracker_projector):
    from services.tracker_gateway.app import close_app, create_app

    settings = {key: value for key, value in gateway_settings.items() if key != "READY_SERVICES"}
    app = create_app(settings)  # the default: only tickets is required
    try:
        assert app.test_client().get("/readyz").status_code == 200
        body = readiness_of(app)
        assert body["checks"] == {"database": "ok", "redis": "ok", "tickets": "ok"}
        assert body["optional"] == {"tracker_projector": "ok", "notifier": "service not running",
                                    "chat": "service not running"}
    finally:
        close_app(app)
    # A service named in GATEWAY_READY_SERVICES is required: its absence makes the gateway unready.
    app = create_app({**settings, "READY_SERVICES": ["tickets", "chat"]})
    try:
        assert app.test_client().get("/readyz").status_code == 503
        body = readiness_of(app)
        assert body["checks"]["chat"] == "service not running" and "chat" not in body["optional"]
    finally:
        close_app(app)


def test_an_unexpected_error_is_a_bare_500(http, gateway_app, gateway_db):
    def explode():
        raise RuntimeError("password=hunter2 at /srv/secret.py line 3")

    gateway_app.add_url_rule("/api/explode", "explode", explode)
    response = http.get("/api/explode")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error", "message": "Something went wrong on our side."}
    assert b"hunter2" not in response.data and b"Traceback" not in response.data


def test_a_create_retried_with_its_idempotency_key_makes_one_ticket(http, tenants, auth_headers, tickets_service):
    acme = {**auth_headers(tenants[0]), "Idempotency-Key": "form-submit-7"}
    body = {"title": "Submitted twice", "description": "double click"}
    first, second = (http.post("/api/entities/ticket", json=body, headers=acme) for _ in range(2))
    assert first.status_code == second.status_code == 201
    assert first.get_json()["ticket_number"] == second.get_json()["ticket_number"]
    assert http.get("/api/entities/ticket", headers=acme).get_json()["total"] == 1
    # Without a key every request is its own create.
    plain = auth_headers(tenants[0])
    assert http.post("/api/entities/ticket", json=body, headers=plain).get_json()["ticket_number"] == "TKT-00002"
