"""Every error mapped to an HTTP response, in this one place.

Typed remote errors from the services (shared.contracts.exceptions), the gateway's own (validation,
authentication, throttling, unavailable services) and werkzeug's HTTP errors each get their
status and a JSON body on the API (`{"error", "message", "errors"?}`), or a page on the public
site. Anything else is logged and answered with a bare 500: no internals in any response.
"""
import logging

import redis
from flask import jsonify, make_response, render_template, request
from marshmallow import ValidationError as SchemaError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from shared.contracts.exceptions import Conflict, NotFound, ValidationError


class Unauthorized(Exception):
    """No valid credentials: 401."""


class Forbidden(Exception):
    """Valid credentials, not enough rights: 403."""


class TooManyAttempts(Exception):
    """Throttled: 429 with Retry-After."""

    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


def retry_in_words(seconds):
    """When to try again, as a person says it: "in 42 seconds", "in 4 minutes", "in 2 hours"
    (rounded up: someone told "1 minute" who comes back at 61 s must not be refused again)."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        count, unit = seconds, "second"
    elif seconds <= 120 * 60:
        count, unit = -(-seconds // 60), "minute"
    else:
        count, unit = -(-seconds // 3600), "hour"
    return f"in {count} {unit}{'' if count == 1 else 's'}"


def too_many_message(retry_after):
    return f"Too many attempts. Try again {retry_in_words(retry_after)}."


class ServiceUnavailable(Exception):
    """A service did not answer in time, or the broker could not be reached."""

    def __init__(self, service, reason, timed_out=False):
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
        # The request reached the service but no reply came: it may have been carried out (the
        # tickets service commits before replying). Refused or unknown: known not to have run.
        self.timed_out = timed_out


log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/healthz", "/readyz", "/hooks/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def wants_json():
    return request.path.startswith(JSON_PREFIXES)


def error_response(status, code, message, errors=None, headers=None):
    if wants_json():
        body = {"error": code, "message": message}
        if errors is not None:
            body["errors"] = errors
        response = jsonify(body)
    else:
        response = make_response(render_template("common/error.html", status=status, message=message))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _store_unavailable(log_message, answer):
    def handler(exc):
        log.warning("%s: %r", log_message, getattr(exc, "orig", None) or exc)
        return error_response(503, "service_unavailable", answer, headers={"Retry-After": "5"})
    return handler


def field_errors(messages, prefix=""):
    """marshmallow's nested messages ({"tickets": {0: [...]}}, {"changes": {"status": [...]}}) as the API's
    {field: [reasons]}, a nested field named by its dotted path ("tickets.0", "changes.status")."""
    if not isinstance(messages, dict):
        return {prefix or "_body": [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]}
    flat = {}
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(field_errors(value, path))
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            flat[path] = value
        else:
            flat[path] = [str(item) for item in value] if isinstance(value, list) else [str(value)]
    return flat


def register(app):
    @app.errorhandler(ValidationError)
    def remote_validation(exc):
        errors = field_errors(exc.errors) if exc.errors is not None else None
        return error_response(422, "validation_error", "The request has invalid fields.", errors)

    @app.errorhandler(SchemaError)
    def local_validation(exc):
        return error_response(422, "validation_error", "The request has invalid fields.", field_errors(exc.messages))

    @app.errorhandler(NotFound)
    def not_found(exc):
        return error_response(404, "not_found", "Not found.")

    @app.errorhandler(Conflict)
    def conflict(exc):
        return error_response(409, "conflict", "The request conflicts with the current state.")

    @app.errorhandler(Unauthorized)
    def unauthorized(exc):
        return error_response(401, "unauthorized", str(exc), headers={"WWW-Authenticate": 'Bearer realm="deskline"'})

    @app.errorhandler(Forbidden)
    def forbidden(exc):
        return error_response(403, "forbidden", str(exc))

    @app.errorhandler(TooManyAttempts)
    def too_many(exc):
        return error_response(429, "too_many_requests", too_many_message(exc.retry_after),
                              headers={"Retry-After": str(exc.retry_after)})

    @app.errorhandler(ServiceUnavailable)
    def unavailable(exc):
        if exc.timed_out and request.method not in SAFE_METHODS:
            # The write may have happened: "try again" could make a duplicate ticket, e-mail, link.
            log.warning("write outcome unknown: %s", exc)
            return error_response(504, "outcome_unknown",
                                  f"No answer from {exc.service} in time: the change may or may not have been made. "
                                  "Check before trying again.")
        log.warning("service unavailable: %s", exc)
        return error_response(503, "service_unavailable",
                              f"A service this request needs is unavailable ({exc.service}); try again shortly.",
                              headers={"Retry-After": "5"})

    # What is briefly away or saturated answers 503 with Retry-After, and a log line naming it.
    unavailable_stores = (
        # Redis away (rate limits, the tracker's read model, revoked tokens).
        (redis.RedisError, "redis unavailable", "A store this request needs is unavailable; try again shortly."),
        # psycopg2 reports a database it cannot reach (down, restarting, out of connections) this way.
        (OperationalError, "database unavailable", "The database is unavailable; try again shortly."),
        # Every pooled connection busy for pool_timeout: overloaded, not broken.
        (PoolTimeout, "database pool exhausted", "The service is busy; try again shortly."),
    )
    for exc_class, log_message, answer in unavailable_stores:
        app.register_error_handler(exc_class, _store_unavailable(log_message, answer))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = (exc.name or "error").lower().replace(" ", "_")
        # This request's limit: a view may raise it (a reply's files, an upload) above MAX_CONTENT_LENGTH.
        messages = {413: f"The request body is larger than {request.max_content_length} bytes."}
        return error_response(exc.code, code, messages.get(exc.code, exc.description or exc.name),
                              headers={k: v for k, v in exc.get_headers() if k.lower() == "allow"})

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")
