"""Signed links that open one ticket on the public tracker (`/track-ticket/<token>`).

The notifier makes them for e-mails, the gateway checks them: both are given the same secret
(TRACKER_LINK_SECRET, read by each service's config). A token is bound to the ticket number, the
customer's e-mail and (in links made since numbers are per client) the ticket's client, expires, and is opaque: the payload is encrypted and authenticated (Fernet:
AES-128-CBC and an HMAC-SHA256 tag, keys derived from the secret), so it can be neither guessed nor
altered, and it does not show the customer's address to whoever sees the link.
"""
import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken

# The development default of TRACKER_LINK_SECRET (refused in production by shared.platform.config.secret).
DEV_SECRET = "development-only-tracker-link-secret-change-me!!"
DEFAULT_MAX_AGE_DAYS = 30
SALT = b"deskline.track-ticket"
# Far longer than any token we make: a longer one is refused before it is decoded.
MAX_TOKEN_LENGTH = 512


class TrackingLinks:
    """Makes and reads tracking-link tokens with one secret; tokens older than `max_age_seconds` are refused."""

    def __init__(self, secret, max_age_seconds=DEFAULT_MAX_AGE_DAYS * 86400):
        self.max_age_seconds = max_age_seconds
        key = hashlib.sha256(SALT + (secret.encode() if isinstance(secret, str) else secret)).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def make_token(self, ticket_number, email, client_id=None):
        data = {"t": ticket_number, "e": email.strip().lower()}
        if client_id is not None:
            data["c"] = str(client_id)
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()

    def read_token(self, token, max_age=None):
        """(ticket_number, email) from a valid, unexpired token; None for anything else."""
        found = self.read_link(token, max_age)
        return found[:2] if found else None

    def read_link(self, token, max_age=None):
        """(ticket_number, email, client_id) from a valid, unexpired token, client_id None in a link
        made before numbers were per client (it opens every ticket with that number and address);
        None for anything else."""
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            return None
        try:
            data = json.loads(self._fernet.decrypt(token.encode(), ttl=self.max_age_seconds if max_age is None else max_age))
        except (InvalidToken, ValueError, UnicodeError):
            return None
        number, email, client = (data.get("t"), data.get("e"), data.get("c")) if isinstance(data, dict) else (None,) * 3
        # Signed by us, yet of the wrong shape (an older format, a bug): not a link to anything.
        if not isinstance(number, str) or not isinstance(email, str) or not isinstance(client, (str, type(None))):
            return None
        return number, email, client

    def url(self, base_url, ticket_number, email, client_id=None):
        return f"{base_url.rstrip('/')}/track-ticket/{self.make_token(ticket_number, email, client_id)}"
