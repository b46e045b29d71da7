"""The signature every delivery carries: `Deskline-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
How a receiver checks it is in docs/webhooks.md (its snippet is run by the tests)."""
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret():
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret, timestamp, body):
    """`body` is the exact bytes sent."""
    signed = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret, timestamp, body):
    return f"t={int(timestamp)},v1={signature(secret, timestamp, body)}"
