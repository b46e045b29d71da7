"""Signed links that open one ticket on the public tracker (`/track-ticket/<token>`).

The notifier makes them for e-mails, the gateway checks them: both are given the same secret
(TRACKER_LINK_SECRET, read by each service's config). A token is bound to the ticket number and the
customer's e-mail, expires, and carries a 256-bit HMAC: it cannot be guessed or altered.
"""
import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer

# The development default of TRACKER_LINK_SECRET (refused in production by shared.platform.config.secret).
DEV_SECRET = "development-only-tracker-link-secret-change-me!!"
DEFAULT_MAX_AGE_DAYS = 30
SALT = "deskline.track-ticket"


class TrackingLinks:
    """Makes and reads tracking-link tokens with one secret; tokens older than `max_age_seconds` are refused."""

    def __init__(self, secret, max_age_seconds=DEFAULT_MAX_AGE_DAYS * 86400):
        self.max_age_seconds = max_age_seconds
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha256})

    def make_token(self, ticket_number, email):
        return self._serializer.dumps({"t": ticket_number, "e": email.strip().lower()})

    def read_token(self, token, max_age=None):
        """(ticket_number, email) from a valid, unexpired token; None for anything else."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age_seconds if max_age is None else max_age)
            return data["t"], data["e"]
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def url(self, base_url, ticket_number, email):
        return f"{base_url.rstrip('/')}/track-ticket/{self.make_token(ticket_number, email)}"
