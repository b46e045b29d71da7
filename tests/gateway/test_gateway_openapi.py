"""The OpenAPI document and the API reference page."""
import json
import re

EXPECTED = {
    "/api/auth/login": {"post"}, "/api/auth/refresh": {"post"}, "/api/auth/logout": {"post"}, "/api/auth/me": {"get"},
    "/api/entities/ticket": {"get", "post"},
    "/api/entities/ticket/{ref}": {"get", "put", "patch", "delete"},
    "/api/entities/ticket/{ref}/history": {"get"},
    "/api/public/track": {"get"},
    "/api/chat/conversations": {"get"},
    "/api/chat/conversations/{conversation_id}": {"get"},
    "/api/chat/conversations/{conversation_id}/messages": {"post"},
    "/api/chat/conversations/{conversation_id}/read": {"post"},
    "/api/chat/conversations/{conversation_id}/assign": {"post"},
    "/api/chat/conversations/{conversation_id}/close": {"post"},
    "/api/chat/conversations/{conversation_id}/ticket-draft": {"get"},
    "/api/chat/conversations/{conversation_id}/ticket": {"post"},
    "/api/public/chat/{slug}/conversations": {"post"},
    "/api/public/chat/{slug}/conversation": {"get"},
    "/api/public/chat/{slug}/conversation/messages": {"post"},
    "/api/public/chat/{slug}/conversation/read": {"post"},
    "/api/public/chat/{slug}/conversation/close": {"post"},
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
                 f"{public}/conversation/close"):
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
