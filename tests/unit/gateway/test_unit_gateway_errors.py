"""Every error the gateway maps (core/errors.py): its status, body and headers, as JSON under /api/ and
the health paths and as a page elsewhere. Routes that raise each one are added to an app with no service."""
import logging

import pytest
import redis
from marshmallow import ValidationError as SchemaError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest

from services.tracker_gateway.core.errors import (
    Forbidden, ServiceUnavailable, TooManyAttempts, Unauthorized, retry_in_words,
)
from shared.contracts.exceptions import Conflict, NotFound, ValidationError

RAISES = {
    "remote_validation": lambda: ValidationError({"title": ["Missing data for required field."]}),
    "schema_fields": lambda: SchemaError({"email": ["Not a valid email address."]}),
    "schema_body": lambda: SchemaError(["Invalid input type."]),
    "not_found": lambda: NotFound("ticket 42 of client acme"),
    "conflict": lambda: Conflict("closed since 12:00"),
    "unauthorized": lambda: Unauthorized("token revoked"),
    "forbidden": lambda: Forbidden("Admins only."),
    "too_many": lambda: TooManyAttempts(42),
    "unavailable": lambda: ServiceUnavailable("tickets", "service not running"),
    "timed_out": lambda: ServiceUnavailable("tickets", "no answer within 5s", timed_out=True),
    "redis": lambda: redis.ConnectionError("Error 111 connecting to 10.0.0.5:6379"),
    "database": lambda: OperationalError("SELECT 1", {}, Exception("could not connect to server at 10.0.0.9")),
    "pool": lambda: PoolTimeout("QueuePool limit of size 8 overflow 0 reached"),
    "bad_request": lambda: BadRequest("The browser sent nonsense."),
    "bug": lambda: KeyError("secret_internal_field"),
}
# name: (status, error code, message, extra body, headers)
EXPECTED = {
    "remote_validation": (422, "validation_error", "The request has invalid fields.",
                          {"errors": {"title": ["Missing data for required field."]}}, {}),
    "schema_fields": (422, "validation_error", "The request has invalid fields.",
                      {"errors": {"email": ["Not a valid email address."]}}, {}),
    "schema_body": (422, "validation_error", "The request has invalid fields.", {"errors": {"_body": ["Invalid input type."]}}, {}),
    "not_found": (404, "not_found", "Not found.", {}, {}),
    "conflict": (409, "conflict", "The request conflicts with the current state.", {}, {}),
    "unauthorized": (401, "unauthorized", "token revoked", {}, {"WWW-Authenticate": 'Bearer realm="deskline"'}),
    "forbidden": (403, "forbidden", "Admins only.", {}, {}),
    "too_many": (429, "too_many_requests", "Too many attempts. Try again in 42 seconds.", {}, {"Retry-After": "42"}),
    "unavailable": (503, "service_unavailable",
                    "A service this request needs is unavailable (tickets); try again shortly.", {}, {"Retry-After": "5"}),
    "timed_out": (503, "service_unavailable",  # a read that timed out changed nothing: try again
                  "A service this request needs is unavailable (tickets); try again shortly.", {}, {"Retry-After": "5"}),
    "redis": (503, "service_unavailable", "A store this request needs is unavailable; try again shortly.", {},
              {"Retry-After": "5"}),
    "database": (503, "service_unavailable", "The database is unavailable; try again shortly.", {}, {"Retry-After": "5"}),
    "pool": (503, "service_unavailable", "The service is busy; try again shortly.", {}, {"Retry-After": "5"}),
    "bad_request": (400, "bad_request", "The browser sent nonsense.", {}, {}),
    "bug": (500, "internal_error", "Something went wrong on our side.", {}, {}),
}


@pytest.fixture
def client(offline_app):
    def raiser(name):
        raise RAISES[name]()

    for prefix in ("/api/raise", "/page/raise", "/healthz/raise"):
        offline_app.add_url_rule(f"{prefix}/<name>", f"raise_{prefix}", raiser, methods=["GET", "POST"])
    return offline_app.test_client()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_error_is_json_with_its_status_under_the_api(client, name):
    status, code, message, extra, headers = EXPECTED[name]
    response = client.get(f"/api/raise/{name}")
    assert response.status_code == status
    assert response.get_json() == {"error": code, "message": message, **extra}
    for header, value in headers.items():
        assert response.headers[header] == value
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # error answers carry the security headers too


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_error_is_a_page_with_its_status_elsewhere(client, name):
    status, _, message, _, headers = EXPECTED[name]
    response = client.get(f"/page/raise/{name}")
    assert response.status_code == status and response.mimetype == "text/html"
    assert message.replace("'", "&#39;") in response.get_data(as_text=True)
    for header, value in headers.items():
        assert response.headers[header] == value


def test_the_health_paths_answer_json(client):
    response = client.get("/healthz/raise/unavailable")
    assert response.status_code == 503 and response.get_json()["error"] == "service_unavailable"


def test_a_write_that_timed_out_is_504_outcome_unknown_without_retry_after(client):
    response = client.post("/api/raise/timed_out")
    assert response.status_code == 504 and "Retry-After" not in response.headers
    body = response.get_json()
    assert body["error"] == "outcome_unknown" and "may or may not have been made" in body["message"]
    # Refused, not timed out: known not to have run, so "try again" is safe even for a write.
    assert client.post("/api/raise/unavailable").status_code == 503


def test_no_internals_leak_from_any_error(client, caplog):
    with caplog.at_level(logging.ERROR):
        for name in RAISES:
            for prefix in ("/api/raise", "/page/raise"):
                text = client.get(f"{prefix}/{name}").get_data(as_text=True)
                for secret in ("secret_internal_field", "10.0.0.5", "10.0.0.9", "QueuePool", "Traceback"):
                    assert secret not in text, (name, prefix)
    assert "secret_internal_field" in caplog.text  # the bug is logged for us instead


def test_werkzeug_errors_keep_their_status_and_allow_header(offline_app):
    client = offline_app.test_client()
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    wrong_method = client.delete("/api/auth/login")
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"] == "method_not_allowed"
    assert "POST" in wrong_method.headers["Allow"]
    assert client.get("/no-such-page").mimetype == "text/html"


def test_a_body_over_the_limit_is_413_naming_the_limit(offline_app):
    limit = offline_app.config["MAX_CONTENT_LENGTH"]
    response = offline_app.test_client().post("/api/auth/login", data="x" * (limit + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "request_entity_too_large",
                                   "message": f"The request body is larger than {limit} bytes."}


@pytest.mark.parametrize("seconds, words", [
    (1, "in 1 second"), (42, "in 42 seconds"), (60, "in 1 minute"), (61, "in 2 minutes"),
    (240, "in 4 minutes"), (3600, "in 60 minutes"), (7201, "in 3 hours"),
])
def test_retry_after_is_said_in_words(seconds, words):
    assert retry_in_words(seconds) == words
