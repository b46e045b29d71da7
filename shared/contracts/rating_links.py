"""Signed one-click rating links of the resolution e-mail (`/rate/<token>?r=good`).

Made by the notifier, checked by the gateway, with the secret of the tracking links (TRACKER_LINK_SECRET)
under a salt of their own, so that neither kind of token is accepted as the other. A token names the
ticket (its id) and its resolution round, so a ticket reopened and resolved again is sent a fresh link
and the older one stops working; it is opaque and authenticated (Fernet, as tracking_links.py) and
expires after RATING_LINK_MAX_AGE_DAYS. `check` tells a forged or damaged token (400) from an expired
one (410). The choice (good, okay, bad) is a query parameter outside the token: the customer may change it.
"""
import base64
import hashlib
import json
import time
import uuid

from cryptography.fernet import Fernet, InvalidToken

from shared.contracts.enums import RATINGS
from shared.contracts.tracking_links import MAX_TOKEN_LENGTH

DEFAULT_MAX_AGE_DAYS = 30
SALT = b"deskline.rate-ticket"
VALID, INVALID, EXPIRED = "valid", "invalid", "expired"


class RatingLinks:
    def __init__(self, secret, max_age_seconds=DEFAULT_MAX_AGE_DAYS * 86400):
        self.max_age_seconds = max_age_seconds
        key = hashlib.sha256(SALT + (secret.encode() if isinstance(secret, str) else secret)).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def make_token(self, ticket_id, resolution_round, now=None):
        payload = json.dumps({"i": str(ticket_id), "r": int(resolution_round)}, separators=(",", ":"))
        if now is None:
            return self._fernet.encrypt(payload.encode()).decode()
        return self._fernet.encrypt_at_time(payload.encode(), int(now)).decode()

    def check(self, token, now=None):
        """(VALID, ticket_id, round) | (EXPIRED, None, None) | (INVALID, None, None)."""
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
            return INVALID, None, None
        try:
            issued = self._fernet.extract_timestamp(token.encode())  # checks the signature, not the age
            data = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError, UnicodeError, TypeError):
            return INVALID, None, None
        if (now if now is not None else time.time()) - issued > self.max_age_seconds:
            return EXPIRED, None, None
        ticket_id, round_ = (data.get("i"), data.get("r")) if isinstance(data, dict) else (None, None)
        try:
            ticket_id = str(uuid.UUID(ticket_id))
        except (TypeError, ValueError, AttributeError):
            return INVALID, None, None
        if not isinstance(round_, int) or round_ < 1:
            return INVALID, None, None
        return VALID, ticket_id, round_

    def urls(self, base_url, ticket_id, resolution_round):
        """{rating: url} for each choice, one token for all."""
        base = f"{base_url.rstrip('/')}/rate/{self.make_token(ticket_id, resolution_round)}"
        return {rating: f"{base}?r={rating}" for rating in RATINGS}
