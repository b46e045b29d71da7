"""The OpenAPI 3 document, generated from the route table and the marshmallow schemas the views use.

Each documented view carries its description, attached by `@documented(...)` under its route
decorator: its tag, the schema its JSON body or query string is loaded with, any header it reads,
and the answers it gives itself, `{status: (description, schema or None)}`. `build_spec(app)` walks
`app.url_map` once at startup (app.extensions["openapi"]) and writes one operation per rule and
method: the path and its parameters from the rule, the summary from the view's docstring (its first
sentence; the rest is the description), the bearer requirement from `login_required` (so the
document cannot say an endpoint is open when it is not), and the answers every operation of its
kind gives (401, 404 for a path's unknown object, 414 from gunicorn, 422, 503). apispec's MarshmallowPlugin turns the
schemas into components, so the document cannot name a schema the gateway does not use.

Which /api/ routes stay out of the document, and why, is listed in one place: the completeness test
(tests/gateway/test_gateway_openapi.py, NOT_DOCUMENTED), which fails for any other route missing here.
"""
import inspect
import re
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.tracker_gateway.api import schemas
from services.tracker_gateway.core.http_limits import MAX_REQUEST_LINE

# Every {name} a path may hold; a path naming one not listed here fails at startup, not in a reader's hands.
PATH_PARAMETERS = {
    "ref": {"schema": {"type": "string"}, "description": "the ticket's id (UUID) or number (TKT-00001)"},
    "conversation_id": {"schema": {"type": "string", "format": "uuid"}, "description": "the conversation's id"},
    "slug": {"schema": {"type": "string"}, "description": "the client's chat page name, as in /chat/<slug>"},
    "agent_id": {"schema": {"type": "string", "format": "uuid"}, "description": "the agent's id"},
    "view_id": {"schema": {"type": "string", "format": "uuid"}, "description": "the saved view's id"},
    "reply_id": {"schema": {"type": "string", "format": "uuid"}, "description": "the canned reply's id"},
    "attachment_id": {"schema": {"type": "string", "format": "uuid"}, "description": "the attachment's id"},
    "inbound_id": {"schema": {"type": "integer", "minimum": 1}, "description": "the inbound mail's id"},
    "webhook_id": {"schema": {"type": "string", "format": "uuid"}, "description": "the webhook's id"},
    "delivery_id": {"schema": {"type": "integer", "minimum": 1}, "description": "the delivery's id (Deskline-Delivery)"},
    "message_id": {"schema": {"type": "integer", "minimum": 1}, "description": "the message's id in the ticket's thread"},
}
# What a 404 means on a path holding that parameter (an agent never learns of other clients' rows).
NOT_FOUND = {
    "ref": "No such ticket in the agent's client",
    "conversation_id": "No such conversation in the agent's client",
    "agent_id": "No such agent in the admin's client",
    "view_id": "No such view among the agent's own and the team's",
    "reply_id": "No such canned reply among the agent's own and the team's",
    "attachment_id": "No such file on this ticket",
    "inbound_id": "No such inbound mail of the admin's client, or none whose raw bytes were kept",
    "webhook_id": "No such webhook of the admin's client",
    "delivery_id": "No such delivery of this webhook",
    "message_id": "No such message on this ticket, or none that kept more than its body",
}
# Answers the builder adds: with a bearer token, with a body or query string, and to every operation.
UNAUTHORIZED = "Missing, expired, revoked or invalid access token"
ADMIN_ONLY = "The agent is not an admin (admin-only operation)"
INVALID = "Invalid fields"
UNAVAILABLE = "A service or store the request needs did not answer"
# gunicorn answers an over-long request line itself (gunicorn_conf.py), with an HTML page, before the app.
URI_TOO_LONG = {
    "description": f"The request line (path and query string) is longer than {MAX_REQUEST_LINE} bytes: "
                   "answered by the HTTP server itself, as an HTML page",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}

# The public chat's credential: a header, so it never lands in URLs, logs or Referer headers.
CHAT_TOKEN = {
    "name": "X-Chat-Token", "in": "header", "required": True, "schema": {"type": "string"},
    "description": "the conversation token returned once when the conversation started",
}
PUBLIC_CHAT_ERRORS = {
    404: ("No client with this slug, or no conversation for this token on its page", None),
    429: ("Too many calls from this address (see Retry-After)", None),
}
CLOSED = {409: ("The conversation is closed", None)}
# An answer that is a file to save, not JSON (a ticket's attachment).
BINARY = "binary"
# An answer that is CSV text (the reports' downloads).
CSV = "csv"
DOWNLOAD_HEADERS = {"Content-Disposition": {"description": "attachment; filename=...", "schema": {"type": "string"}}}

METHODS = ("get", "post", "put", "patch", "delete")  # the document's order; HEAD and OPTIONS are Flask's own


@dataclass(frozen=True)
class Operation:
    """What a view says about itself for the document (see `documented`)."""

    tag: str
    responses: dict
    body: type | None = None
    body_required: bool = True
    query: type | None = None
    headers: tuple = ()


def documented(tag, responses, body=None, query=None, headers=(), body_required=True):
    """Put the view in the OpenAPI document: `tag` groups it, `body` / `query` is the schema class its
    JSON body / query string is loaded with, `headers` are header parameters it reads, `responses`
    maps each status it answers itself to (description, schema class or None)."""

    def attach(view):
        # On the function Flask registered; functools.wraps carries it up if applied below another decorator.
        view.openapi = Operation(tag, dict(responses), body, body_required, query, tuple(headers))
        return view

    return attach


def _summary(view):
    """(the docstring's first clause, the whole docstring if it says more): "Open a conversation:
    {...} -> 201 ..." is summed up as "Open a conversation"; a stop inside brackets does not end it."""
    doc = " ".join((inspect.getdoc(view) or "").split())
    depth, end = 0, len(doc)
    for i, char in enumerate(doc):
        depth += (char in "([{") - (char in ")]}")
        if depth == 0 and char in ".:;" and doc[i + 1:i + 2] in ("", " "):
            end = i
            break
    summary = doc[:end]
    return summary, (doc if doc.rstrip(".") != summary else None)


def _response(description, schema, status):
    response = {"description": description}
    if schema is BINARY:
        response["content"] = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        response["headers"] = DOWNLOAD_HEADERS
        return response
    if schema is CSV:
        response["content"] = {"text/csv": {"schema": {"type": "string"}}}
        response["headers"] = DOWNLOAD_HEADERS
        return response
    if schema is None and status >= 400:
        schema = schemas.ValidationErrorSchema if status == 422 else schemas.ErrorSchema
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    if status in (429, 503):
        response["headers"] = RETRY_AFTER
    return response


def openapi_path(rule):
    """Flask's /a/<ref> or /a/<int:n> as OpenAPI's /a/{ref}."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _operation(view, op, path, method, endpoint, methods_of_rule):
    summary, description = _summary(view)
    operation = {"tags": [op.tag], "summary": summary, "responses": {}}
    if description:
        operation["description"] = description
    # Unique across the document: one view may serve several methods (PUT and PATCH).
    operation["operationId"] = endpoint if len(methods_of_rule) == 1 else f"{endpoint}.{method}"
    names = re.findall(r"{(\w+)}", path)
    parameters = [{"name": name, "in": "path", "required": True, **PATH_PARAMETERS[name]} for name in names]
    parameters += list(op.headers)
    if op.query is not None:
        parameters.append({"in": "query", "schema": op.query})
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        operation["requestBody"] = {"required": op.body_required,
                                    "content": {"application/json": {"schema": op.body}}}
    responses = dict(op.responses)
    if getattr(view, "requires_login", False):
        operation["security"] = [{"bearer": []}]
        responses.setdefault(401, (UNAUTHORIZED, None))
    if getattr(view, "requires_admin", False):
        responses.setdefault(403, (ADMIN_ONLY, None))
    if op.body is not None or op.query is not None:
        responses.setdefault(422, (INVALID, None))
    for name in names:
        if name in NOT_FOUND:
            responses.setdefault(404, (NOT_FOUND[name], None))
    responses.setdefault(503, (UNAVAILABLE, None))
    for status, (text, schema) in sorted(responses.items()):
        operation["responses"][str(status)] = _response(text, schema, status)
    operation["responses"]["414"] = URI_TOO_LONG
    return operation


def build_spec(app):
    """The document for every documented view of `app` (call it once every blueprint is registered)."""
    spec = APISpec(
        title="Deskline API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "The agent API (JWT bearer, tenant from the token), the public tracker and the "
                             "public chat (conversation token in the X-Chat-Token header)."},
        servers=[{"url": app.config["PUBLIC_BASE_URL"].rstrip("/")}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "openapi", None)
        if op is None:
            continue
        path = openapi_path(rule.rule)
        methods = [method for method in METHODS if method.upper() in rule.methods]
        spec.path(path=path, operations={
            method: _operation(view, op, path, method, rule.endpoint, methods) for method in methods
        })
    return _null_or_ref(spec.to_dict())


def _null_or_ref(node):
    """apispec writes a nullable Nested field as anyOf [{type: object, nullable: true}, {$ref}], whose first
    branch admits any object; what the field takes is null or the referenced object: the branch says null only."""
    if isinstance(node, dict):
        for branch in node.get("anyOf", ()):
            if branch == {"type": "object", "nullable": True}:
                branch["enum"] = [None]
        for value in node.values():
            _null_or_ref(value)
    elif isinstance(node, list):
        for value in node:
            _null_or_ref(value)
    return node
