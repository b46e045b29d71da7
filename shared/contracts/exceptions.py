"""Errors that cross RPC boundaries as typed exceptions.

`deserialize_to_instance` registers each class with nameko, so a caller receives the same
class (not a generic RemoteError) and can map it to an HTTP status in one place.
"""
from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class ValidationError(Exception):
    """Input was rejected; `errors` maps each field to a list of reasons."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@deserialize_to_instance
class NotFound(Exception):
    """The requested object does not exist (or is not visible to the caller's tenant)."""


@deserialize_to_instance
class Conflict(Exception):
    """The request contradicts the current state of the object."""


@deserialize_to_instance
class Unavailable(Exception):
    """A store or the broker the service needs could not be reached; retry later (same idempotency key)."""
