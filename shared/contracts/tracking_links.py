"""Signed links that open one ticket on the public tracker (`/track-ticket/<token>`).

The notifier makes them for emails, the gateway checks them: both read the same secret,
TRACKER_LINK_SECRET. A token is bound to the ticket number and the customer's email, expires,
and carries a 256-bit HMAC: it cannot be guessed or altered.
"""
import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer

from shared.platform.config import env_int, secret

DEV_SECRET = "development-only-tracker-link-secret-change-me!!"
SALT = "deskline.track-ticket"


def _serializer():
    return URLSafeTimedSerializer(
        secret("TRACKER_LINK_SECRET", DEV_SECRET), salt=SALT,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def max_age_seconds():
    return env_int("TRACKER_LINK_MAX_AGE_DAYS", 30) * 86400


def make_token(ticket_number, email):
    return _serializer().dumps({"t": ticket_number, "e": email.strip().lower()})


def read_token(token, max_age=None):
    """(ticket_number, email) from a valid, unexpired token; None for anything else."""
    try:
        data = _serializer().loads(token, max_age=max_age if max_age is not None else max_age_seconds())
        return data["t"], data["e"]
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def tracking_url(base_url, ticket_number, email):
    return f"{base_url.rstrip('/')}/track-ticket/{make_token(ticket_number, email)}"
