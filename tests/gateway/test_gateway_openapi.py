"""The OpenAPI document and the API reference page."""
import json

EXPECTED = {
    "/api/auth/login": {"post"}, "/api/auth/refresh": {"post"}, "/api/auth/logout": {"post"}, "/api/auth/me": {"get"},
    "/api/entities/ticket": {"get", "post"},
    "/api/entities/ticket/{ref}": {"get", "put", "patch", "delete"},
    "/api/entities/ticket/{ref}/history": {"get"},
    "/api/public/track": {"get"},
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
