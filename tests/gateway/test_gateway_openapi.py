"""The OpenAPI document, built from the route table, and the API reference page.

The document's own checks use an app with nothing behind it (`bare_app`): building the document
opens no connection. openapi-3.0-schema.json is the OpenAPI Initiative's JSON Schema for OpenAPI
3.0 documents (https://spec.openapis.org/oas/3.0/schema/2021-09-28, Apache 2.0), kept here so
the check runs offline.
"""
import copy
import json
import re
import uuid
from pathlib import Path

import jsonschema
import pytest

from services.tracker_gateway.api.openapi import openapi_path
from services.tracker_gateway.app import close_app, create_app
from shared.testing import wait_for
from tests.fixtures.openapi import DocumentedCalls

# The /api/ routes deliberately left out of the document, by Flask rule, and why. Every other
# route under /api/ must be in it with each of its methods (test_every_api_route_is_documented).
NOT_DOCUMENTED = {
    "/api/openapi.json": "the document itself",
    "/api/docs": "an HTML page rendering the document",
    "/api/console/tickets/<ref>": "the agent console's own read for its ticket panel (console/reads.py): "
                                  "it changes with the page and is not offered to API clients",
    "/api/console/tickets/<ref>/emails": "the agent console's own read of the notifier's deliveries, as above",
    "/api/live/status": "the console's Live indicator: whether the services behind its feeds answer "
                        "(console/live_status.py), for its pages only",
    "/api/live": "the agent console's server-sent event stream (console/live.py): a text/event-stream of "
                 "typed events that OpenAPI 3.0 cannot describe, for the console's pages",
}
OPENAPI_3_0_SCHEMA = Path(__file__).with_name("openapi-3.0-schema.json")
# A value for each path parameter, to call every documented path.
PATH_VALUES = {"ref": "TKT-00001", "conversation_id": str(uuid.uuid4()), "slug": "acme", "agent_id": str(uuid.uuid4()),
               "view_id": str(uuid.uuid4()), "reply_id": str(uuid.uuid4()), "attachment_id": str(uuid.uuid4()),
               "inbound_id": 1, "webhook_id": str(uuid.uuid4()), "delivery_id": 1, "message_id": 1}

WORKFLOW_PATHS = ("/api/entities/ticket/bulk", "/api/views", "/api/views/{view_id}", "/api/queues",
                  "/api/canned-replies", "/api/canned-replies/{reply_id}", "/api/canned-replies/{reply_id}/render")
EXPECTED = {
    "/api/auth/login": {"post"}, "/api/auth/refresh": {"post"}, "/api/auth/logout": {"post"}, "/api/auth/me": {"get"},
    "/api/entities/ticket": {"get", "post"},
    "/api/entities/ticket/{ref}": {"get", "put", "patch", "delete"},
    "/api/entities/ticket/{ref}/history": {"get"},
    "/api/sla": {"get", "put"},
    "/api/entities/ticket/{ref}/messages": {"get", "post"},
    "/api/entities/ticket/{ref}/attachments/{attachment_id}": {"get"},
    "/api/entities/ticket/{ref}/messages/{message_id}/original": {"get"},
    "/api/entities/ticket/bulk": {"post"},
    "/api/views": {"get", "post"}, "/api/views/{view_id}": {"put", "delete"}, "/api/queues": {"get"},
    "/api/canned-replies": {"get", "post"}, "/api/canned-replies/{reply_id}": {"put", "delete"},
    "/api/canned-replies/{reply_id}/render": {"post"},
    "/api/public/track": {"get"},
    "/api/chat/conversations": {"get"},
    "/api/chat/conversations/{conversation_id}": {"get"},
    "/api/chat/conversations/{conversation_id}/messages": {"post"},
    "/api/chat/conversations/{conversation_id}/read": {"post"},
    "/api/chat/conversations/{conversation_id}/assign": {"post"},
    "/api/chat/conversations/{conversation_id}/close": {"post"},
    "/api/chat/conversations/{conversation_id}/handled": {"post"},
    "/api/chat/conversations/{conversation_id}/ticket-draft": {"get"},
    "/api/chat/conversations/{conversation_id}/ticket": {"post"},
    "/api/public/chat/{slug}/conversations": {"post"},
    "/api/public/chat/{slug}/conversation": {"get"},
    "/api/public/chat/{slug}/conversation/messages": {"post"},
    "/api/public/chat/{slug}/conversation/read": {"post"},
    "/api/public/chat/{slug}/conversation/close": {"post"},
    "/api/public/chat/{slug}/conversation/stream": {"post"},
    "/api/agents": {"get", "post"},
    "/api/agents/{agent_id}": {"patch"},
    "/api/agents/{agent_id}/invitation": {"post"},
    "/api/client": {"get"},
    "/api/client/settings": {"patch"},
    "/api/inbound": {"get"},
    "/api/inbound/{inbound_id}/raw": {"get"},
    **{f"/api/reports/{name}{suffix}": {"get"} for name in ("volume", "response-times", "sla", "satisfaction")
       for suffix in ("", ".csv")},
    "/api/webhooks": {"get", "post"},
    "/api/webhooks/{webhook_id}": {"patch", "delete"},
    "/api/webhooks/{webhook_id}/deliveries": {"get"},
    "/api/webhooks/{webhook_id}/test": {"post"},
    "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": {"post"},
}


def test_the_document_is_openapi_3_with_every_path(http, gateway_db, gateway_app):
    response = http.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = json.loads(response.data)
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": gateway_app.config["PUBLIC_BASE_URL"].rstrip("/")}]
    assert {path: set(ops) for path, ops in spec["paths"].items()} == EXPECTED
    # Every reference resolves to a schema in the document.
    refs = {ref.split("/")[-1] for ref in _refs(spec)}
    assert refs and refs <= set(spec["components"]["schemas"])


def test_the_document_comes_from_the_validating_schemas(http, gateway_db):
    spec = http.get("/api/openapi.json").get_json()
    create = spec["components"]["schemas"]["TicketCreate"]
    assert set(create["required"]) == {"title", "description"}
    assert "client_id" not in create["properties"] and create["properties"]["title"]["maxLength"] == 200
    listing = spec["paths"]["/api/entities/ticket"]["get"]
    per_page = next(p for p in listing["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 100
    assert listing["security"] == [{"bearer": []}]
    assert set(listing["responses"]) >= {"200", "401", "422", "503"}
    assert spec["paths"]["/api/entities/ticket"]["post"]["responses"]["201"]


def test_the_chat_endpoints_are_documented_from_the_chat_contract(http, gateway_db):
    spec = http.get("/api/openapi.json").get_json()
    paths, components = spec["paths"], spec["components"]["schemas"]
    # Every {name} in a path is a required path parameter.
    for path, operations in paths.items():
        for operation in operations.values():
            in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert in_path == set(re.findall(r"{(\w+)}", path)), path
    # What the gateway supplies itself is not in the bodies; the limits are the chat service's.
    assert "client_id" not in components["ChatStart"]["properties"]
    assert set(components["ChatStart"]["required"]) == {"customer_name", "customer_email"}
    assert set(components["ChatMessage"]["properties"]) == {"body"}
    assert components["ChatMessage"]["properties"]["body"]["maxLength"] == 5000
    assert set(components["ChatAssign"]["properties"]) == {"agent"}
    assert set(components["ChatTicket"]["properties"]).isdisjoint({"client_id", "created_by", "conversation_id"})
    thread = paths["/api/chat/conversations/{conversation_id}"]["get"]
    limit = next(p for p in thread["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200 and thread["security"] == [{"bearer": []}]
    assert set(paths["/api/chat/conversations/{conversation_id}/messages"]["post"]["responses"]) >= {
        "201", "401", "404", "409", "422", "503"}
    # The public chat: no bearer; the token travels in a header on every call but the start.
    public = "/api/public/chat/{slug}"
    start = paths[f"{public}/conversations"]["post"]
    assert "security" not in start and "X-Chat-Token" not in {p["name"] for p in start["parameters"]}
    for path in (f"{public}/conversation", f"{public}/conversation/messages", f"{public}/conversation/read",
                 f"{public}/conversation/close", f"{public}/conversation/stream"):
        for operation in paths[path].values():
            token = next(p for p in operation["parameters"] if p["name"] == "X-Chat-Token")
            assert token["in"] == "header" and token["required"] and "security" not in operation
            assert set(operation["responses"]) >= {"404", "429"}, path


def test_the_docs_page_lists_paths_and_schemas(http, gateway_db):
    response = http.get("/api/docs")
    assert response.status_code == 200 and "Content-Security-Policy" in response.headers
    page = response.data.decode()
    for path in EXPECTED:
        assert f"<code>{path}</code>" in page
    assert 'id="schema-TicketCreate"' in page and "<script>" not in page


# Addresses where nothing listens: the document's own checks must not need a service.
NOTHING_BEHIND = {"TESTING": True, "DATABASE_URL": "postgresql+psycopg2://nobody@127.0.0.1:9/none",
                  "AMQP_URI": "amqp://nobody:nobody@127.0.0.1:9/", "REDIS_URL": "redis://127.0.0.1:9/0"}


@pytest.fixture(scope="module")
def bare_app():
    """A gateway app with no database, broker or Redis behind it (connections open on first use)."""
    app = create_app(NOTHING_BEHIND)
    yield app
    close_app(app)


def api_routes(app):
    """{(OpenAPI path, method)} of every rule under /api/ in the app's url_map, less NOT_DOCUMENTED."""
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule not in NOT_DOCUMENTED
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def documented(spec):
    return {(path, method) for path, operations in spec["paths"].items() for method in operations}


def test_every_api_route_is_documented_and_every_operation_is_a_route(bare_app):
    routes, spec = api_routes(bare_app), bare_app.extensions["openapi"]
    assert routes - documented(spec) == set(), "routes under /api/ missing from the document"
    assert documented(spec) - routes == set(), "documented operations with no route"
    # Each exclusion names a route that exists, and stays out of the document.
    rules = {rule.rule for rule in bare_app.url_map.iter_rules()}
    assert set(NOT_DOCUMENTED) <= rules
    assert not {openapi_path(rule) for rule in NOT_DOCUMENTED} & set(spec["paths"])


def test_a_route_or_method_missing_from_the_document_is_caught():
    app = create_app(NOTHING_BEHIND)
    try:
        # Routes added after the document was built are routes nobody documented.
        app.add_url_rule("/api/entities/widget/<int:widget_id>", "widget", lambda widget_id: "", methods=["GET"])
        app.add_url_rule("/api/auth/me", "me_again", lambda: "", methods=["POST", "DELETE"])
        missing = api_routes(app) - documented(app.extensions["openapi"])
        assert missing == {("/api/entities/widget/{widget_id}", "get"), ("/api/auth/me", "post"),
                           ("/api/auth/me", "delete")}
    finally:
        close_app(app)


def test_the_document_is_valid_openapi_3_0(bare_app):
    validator = jsonschema.Draft4Validator(json.loads(OPENAPI_3_0_SCHEMA.read_text()))
    spec = json.loads(json.dumps(bare_app.extensions["openapi"]))  # as served: JSON types only
    assert [error.message for error in validator.iter_errors(spec)] == []
    # The check has teeth: an operation without responses, or a parameter without `in`, is refused.
    broken = copy.deepcopy(spec)
    del broken["paths"]["/api/auth/me"]["get"]["responses"]
    del broken["paths"]["/api/entities/ticket/{ref}"]["get"]["parameters"][0]["in"]
    assert len(list(validator.iter_errors(broken))) >= 2


def test_operations_say_what_their_views_say(bare_app):
    spec = bare_app.extensions["openapi"]
    operation = spec["paths"]["/api/public/chat/{slug}/conversations"]["post"]
    # Summary: the docstring's first clause; the whole docstring when it says more.
    assert operation["summary"] == "Open a conversation"
    assert operation["description"].startswith("Open a conversation: {customer_name, customer_email, message?}")
    close = spec["paths"]["/api/chat/conversations/{conversation_id}/close"]["post"]
    assert close["summary"] == "Close the conversation (the thread says so; closing twice changes nothing)"
    assert "description" not in close and close["tags"] == ["chat"]
    # One view serving PUT and PATCH: two operations, each with its own id.
    ticket = spec["paths"]["/api/entities/ticket/{ref}"]
    assert (ticket["put"]["operationId"], ticket["patch"]["operationId"]) == (
        "api_tickets.update_ticket.put", "api_tickets.update_ticket.patch")
    ids = [op["operationId"] for operations in spec["paths"].values() for op in operations.values()]
    assert len(ids) == len(set(ids))
    # Throttled and unavailable answers tell when to come back.
    for status in ("429", "503"):
        assert "Retry-After" in spec["paths"]["/api/auth/login"]["post"]["responses"][status]["headers"]


def test_the_bearer_requirement_is_the_views_own(bare_app):
    """An operation documented with a bearer token refuses a call without one; the others are the
    views without login_required (the document reads it from the view, it is not declared twice)."""
    client, spec = bare_app.test_client(), bare_app.extensions["openapi"]
    secured = 0
    for path, operations in spec["paths"].items():
        url = path.format(**PATH_VALUES)
        for method, operation in operations.items():
            view = next(bare_app.view_functions[rule.endpoint] for rule in bare_app.url_map.iter_rules()
                        if openapi_path(rule.rule) == path and method.upper() in rule.methods)
            assert ("security" in operation) == getattr(view, "requires_login", False), (method, path)
            if "security" in operation:
                response = client.open(url, method=method.upper(), json={})
                assert response.status_code == 401 and "WWW-Authenticate" in response.headers, (method, path)
                secured += 1
    assert secured == 58  # auth 2, tickets 11, chat 9, agents 4, client 2, bulk 1, views and queues 5, canned replies 5, sla 2,
    # inbound 2, reports 8, webhooks 7


def test_every_answer_with_a_body_has_a_schema(bare_app):
    spec = bare_app.extensions["openapi"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status == "204":
                    assert "content" not in response
                    continue
                if path.endswith(("/attachments/{attachment_id}", "/raw")) and status == "200":  # a file, not JSON
                    assert response["content"] == {"application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}}}
                    continue
                if path.endswith(".csv") and status == "200":  # a report's table as CSV
                    assert response["content"] == {"text/csv": {"schema": {"type": "string"}}}
                    continue
                if status == "414":  # gunicorn's own page, before the app (gunicorn_conf.py)
                    assert set(response["content"]) == {"text/html"}
                    continue
                schema = response["content"]["application/json"]["schema"]
                assert "$ref" in schema, (method, path, status)
    # The chat answers: the chat service's replies, described by its contract.
    chat = {(path, method): op["responses"] for path, operations in spec["paths"].items()
            if "/chat/" in path for method, op in operations.items()}
    assert len(chat) == 15
    assert chat[("/api/chat/conversations", "get")]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ConversationPage"}
    components = spec["components"]["schemas"]
    assert {"AgentThread", "CustomerThread", "StartedConversation", "AgentConversationView",
            "CustomerConversationView", "Message", "CustomerMessage", "TicketDraft"} <= set(components)
    # The customer's views hold nothing of the tenant, the assignee or the agents.
    assert {"client_id", "assigned_to", "agent_read_up_to", "agent_unread"}.isdisjoint(
        components["CustomerConversationView"]["properties"])
    assert "author_id" not in components["CustomerMessage"]["properties"]
    assert components["AgentConversationView"]["properties"]["assigned_to"]["nullable"] is True


def test_every_auth_ticket_and_tracker_answer_matches_its_documented_schema(
        http, gateway_app, tenants, tickets_service, tracker_projector, auth_headers):
    """The agent API and the tracker against the real tickets service and projector: each status is
    documented for its operation, each body matches that status's schema exactly."""
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])

    acme = tenants[0]
    pair = call("POST", "/api/auth/login", 200, json={"email": acme.email, "password": acme.password})
    call("POST", "/api/auth/login", 401, json={"email": acme.email, "password": "wrong"})
    call("POST", "/api/auth/login", 422, json={"email": acme.email})
    pair = call("POST", "/api/auth/refresh", 200, json={"refresh_token": pair["refresh_token"]})
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    call("GET", "/api/auth/me", 200, headers=headers)

    api = "/api/entities/ticket"
    ticket = call("POST", api, 201, headers=headers, json={
        "title": "Printer on fire", "description": "It is on fire.", "customer_email": "kira@example.com"})
    call("POST", api, 422, headers=headers, json={"title": ""})
    call("GET", api, 200, headers=headers, query_string={"sort": "-created_at"})
    number = ticket["ticket_number"]
    call("GET", f"{api}/{number}", 200, headers=headers)
    call("PUT", f"{api}/{number}", 200, headers=headers, json={"status": "in_progress"})
    call("PATCH", f"{api}/{number}", 200, headers=headers, json={"priority": "urgent", "resolution_notes": None})
    call("GET", f"{api}/{number}/history", 200, headers=headers)
    note = call("POST", f"{api}/{number}/messages", 201, headers=headers, json={"body": "On it", "visibility": "internal"})
    call("GET", f"{api}/{number}/messages/{note['id']}/original", 404, headers=headers)  # kept no more than its body
    call("POST", f"{api}/{number}/messages", 422, headers=headers, json={"body": ""})
    call("GET", f"{api}/{number}/messages", 200, headers=headers)
    call("GET", f"{api}/{number}/attachments/{uuid.uuid4()}", 404, headers=headers)
    wait_for(lambda: http.get("/api/public/track", query_string={"ticket": number, "email": "kira@example.com"})
             .get_json().get("priority") == "urgent", timeout=10, message="the tracker to catch up")
    call("GET", "/api/public/track", 200, query_string={"ticket": number, "email": "kira@example.com"})
    call("GET", "/api/public/track", 404, query_string={"ticket": number, "email": "someone@example.com"})
    call("GET", "/api/public/track", 422, query_string={"ticket": number})
    call("GET", "/api/sla", 200, headers=headers)
    call("PUT", "/api/sla", 200, headers=headers, json={"calendar": {
        "timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "17:00"]]}, "holidays": ["2026-12-25"]}})
    call("PUT", "/api/sla", 422, headers=headers, json={"targets": {"urgent": {"first_response_minutes": 0}}})
    call("DELETE", f"{api}/{number}", 204, headers=headers)
    call("GET", f"{api}/{number}", 404, headers=headers)
    call("POST", "/api/auth/logout", 204, headers=headers, json={"refresh_token": pair["refresh_token"]})
    call("GET", "/api/auth/me", 401, headers=headers)

    # Chat's are checked in tests/chat_web, the team and client API's in test_gateway_agents.py, issue 14's workflow
    # (views, queues, canned replies, bulk) in test_gateway_workflow.py, inbound mail's in test_gateway_inbound_admin.py,
    # the reports' in test_gateway_reports.py, webhooks' in test_gateway_webhooks.py.
    assert call.seen == call.operations(lambda path: "/chat/" not in path
                                        and not path.startswith(("/api/agents", "/api/client", "/api/inbound",
                                                                 "/api/reports", "/api/webhooks"))
                                        and path not in WORKFLOW_PATHS)

def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_document_states_the_rules_the_api_applies(bare_app):
    # Issue 11, point 16: what a schema fuzzer over the document found disagreeing, now said right.
    from shared.contracts.schemas import EMAIL_PATTERN, NOT_BLANK, OPTIONAL_EMAIL_PATTERN

    spec = bare_app.extensions["openapi"]
    components = spec["components"]["schemas"]
    update = spec["paths"]["/api/entities/ticket/{ref}"]["patch"]["requestBody"]["content"]["application/json"]
    update_schema = components[update["schema"]["$ref"].split("/")[-1]]
    assert "required" not in update_schema  # a partial update
    assert components["TicketCreate"]["properties"]["title"]["pattern"] == NOT_BLANK
    assert components["TicketCreate"]["properties"]["customer_email"]["pattern"] == OPTIONAL_EMAIL_PATTERN
    assert components["ChatStart"]["properties"]["customer_email"]["pattern"] == EMAIL_PATTERN
    assert "page_url" not in components["ChatStart"]["properties"]  # the gateway sets it
    chat_query = {p["name"] for p in spec["paths"]["/api/chat/conversations"]["get"]["parameters"]}
    assert chat_query == {"status", "assigned_to", "unassigned", "missed", "page", "per_page"}
    thread_query = {p["name"] for p in spec["paths"]["/api/chat/conversations/{conversation_id}"]["get"]["parameters"]
                    if p["in"] == "query"}
    assert thread_query == {"before", "after", "limit"}
    logout = spec["paths"]["/api/auth/logout"]["post"]["requestBody"]
    assert logout["required"] is False and "required" not in components["Logout"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "4094 bytes" in operation["responses"]["414"]["description"], (method, path)


def test_logout_refuses_a_body_it_does_not_describe(http, tenants, auth_headers):
    response = http.post("/api/auth/logout", json={"refresh_token": "x", "extra": 1}, headers=auth_headers(tenants[0]))
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"extra"}
    for body in (b"null", b"[]", b"not json"):
        response = http.post("/api/auth/logout", data=body, content_type="application/json",
                             headers=auth_headers(tenants[0]))
        assert response.status_code == 422, body
    assert http.post("/api/auth/logout", headers=auth_headers(tenants[0])).status_code == 204
