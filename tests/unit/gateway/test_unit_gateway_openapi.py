"""The OpenAPI document as the app builds it, checked without a service: it is OpenAPI 3, every route
under /api/ that is part of the API is in it, every reference resolves, and it is served as built.
Written against `create_app`, not openapi.py's internals, so it holds however the document is made."""
import re

# Routes under /api/ that are not API operations: the document itself, its page, the live stream (SSE)
# and the console's Live indicator's status.
NOT_OPERATIONS = {"/api/openapi.json", "/api/docs", "/api/live", "/api/live/status"}
# The console's own reads (called by its pages, not by API clients) are not documented today.
UNDOCUMENTED_PREFIXES = ("/api/console/",)


def api_routes(app):
    """{path in OpenAPI form: {methods}} for every /api/ rule of the app."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.rule not in NOT_OPERATIONS and not rule.rule.startswith(UNDOCUMENTED_PREFIXES):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from ([value] if key == "$ref" else refs(value))
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PARAMETER_PLACES = {"query", "header", "path", "cookie"}


def openapi_3_problems(spec):
    """What the OpenAPI 3.0 specification requires of the parts this document uses, as a list of
    problems. (The schema-based validators pin an older `referencing` than the lock has.)"""
    problems = []
    if not re.fullmatch(r"3\.0\.\d+", spec.get("openapi", "")):
        problems.append(f"openapi version {spec.get('openapi')!r}")
    if not (spec.get("info", {}).get("title") and spec.get("info", {}).get("version")):
        problems.append("info needs a title and a version")
    schemes = set(spec.get("components", {}).get("securitySchemes", {}))
    for path, operations in spec.get("paths", {}).items():
        if not path.startswith("/"):
            problems.append(f"path {path!r} does not start with /")
        templated = set(re.findall(r"{(\w+)}", path))
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if method not in METHODS:
                problems.append(f"{where}: not an HTTP method")
                continue
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter.get("in") not in PARAMETER_PLACES or not parameter.get("name"):
                    problems.append(f"{where}: parameter {parameter} needs a name and a place")
                elif parameter["in"] == "path" and parameter.get("required") is not True:
                    problems.append(f"{where}: path parameter {parameter['name']} must be required")
                if "schema" not in parameter and "content" not in parameter:
                    problems.append(f"{where}: parameter {parameter.get('name')} has no schema")
            if {p["name"] for p in parameters if p.get("in") == "path"} != templated:
                problems.append(f"{where}: path parameters do not match the template")
            if not operation.get("responses"):
                problems.append(f"{where}: no responses")
            for status, response in operation.get("responses", {}).items():
                if not (re.fullmatch(r"[1-5](\d\d|XX)", status) or status == "default"):
                    problems.append(f"{where}: response key {status!r}")
                if not response.get("description"):
                    problems.append(f"{where}: response {status} has no description")
            if "requestBody" in operation and not operation["requestBody"].get("content"):
                problems.append(f"{where}: request body without content")
            for requirement in operation.get("security", []):
                problems += [f"{where}: unknown security scheme {name}" for name in set(requirement) - schemes]
    return problems


def test_the_document_is_valid_openapi_3(offline_app):
    assert openapi_3_problems(offline_app.extensions["openapi"]) == []


def test_the_check_sees_a_broken_document(offline_app):
    spec = offline_app.extensions["openapi"]
    broken = {**spec, "openapi": "2.0", "paths": {"nowhere": {"fetch": {}},
                                                  "/a/{id}": {"get": {"responses": {"200": {}}, "security": [{"x": []}]}}}}
    assert len(openapi_3_problems(broken)) == 6


def test_every_api_route_is_documented_with_its_methods(offline_app):
    spec = offline_app.extensions["openapi"]
    documented = {path: set(operations) & {"get", "post", "put", "patch", "delete"}
                  for path, operations in spec["paths"].items()}
    assert documented == api_routes(offline_app)


def test_every_reference_resolves_and_the_server_is_the_public_url(offline_app):
    spec = offline_app.extensions["openapi"]
    names = {ref.split("/")[-1] for ref in refs(spec)}
    assert names and names <= set(spec["components"]["schemas"])
    assert spec["servers"] == [{"url": "https://desk.example.com"}]


def test_every_operation_answers_something_and_agents_need_a_bearer_token(offline_app):
    spec = offline_app.extensions["openapi"]
    assert "bearer" in spec["components"]["securitySchemes"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"], (method, path)
            if path.startswith(("/api/entities/", "/api/chat/")) or path == "/api/auth/me":
                assert operation.get("security") == [{"bearer": []}], (method, path)
            if path.startswith("/api/public/"):
                assert "security" not in operation, (method, path)


def test_the_document_is_served_as_built_with_no_service_behind(offline_app):
    client = offline_app.test_client()
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.get_json() == offline_app.extensions["openapi"]
    page = client.get("/api/docs")
    assert page.status_code == 200 and "<code>/api/entities/ticket</code>" in page.get_data(as_text=True)
