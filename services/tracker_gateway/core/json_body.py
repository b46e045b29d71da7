"""Reading JSON request bodies strictly, in one place for every endpoint.

Python's json module accepts what the rest of the stack cannot hold: a lone UTF-16 surrogate
("\\ud800") is a valid JSON escape but cannot be encoded as UTF-8 (PostgreSQL, Redis, argon2 and the
tickets service would each fail on it), and deep nesting exhausts the parser's recursion. Both are
refused here, before any view runs: an unpaired surrogate is a 422 naming the field, like a NUL
character; nesting deeper than MAX_DEPTH is a 400.
"""
from flask.json.provider import DefaultJSONProvider
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import BadRequest

# Far deeper than any body we accept (the deepest is two levels), far shallower than the recursion limit.
MAX_DEPTH = 32
SURROGATE_MESSAGE = "Must not contain unpaired surrogate characters."


def _has_surrogate(text):
    return any("\ud800" <= char <= "\udfff" for char in text)


def check(value):
    """Raise BadRequest for nesting deeper than MAX_DEPTH, SchemaError naming the field for a lone
    surrogate in a key or a string. Iterative, so that checking cannot exhaust the stack either."""
    errors = {}
    pending = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(item, str):
            if _has_surrogate(item):
                errors.setdefault(path or "_body", [SURROGATE_MESSAGE])
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                if _has_surrogate(key):
                    errors.setdefault(path or "_body", [SURROGATE_MESSAGE])
                    continue
                pending.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{path}.{index}" if path else str(index), depth + 1)
                           for index, child in enumerate(item))
    if errors:
        raise SchemaError(errors)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with request bodies checked by `check` (a non-ValueError, so that
    `get_json(silent=True)` does not swallow it: the error handlers answer it)."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise BadRequest(f"The JSON body is nested more than {MAX_DEPTH} levels deep.") from None
        check(value)
        return value
