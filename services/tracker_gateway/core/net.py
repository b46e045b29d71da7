"""The client's address as the gateway should trust it (rate limits key on it)."""
from flask import current_app, request


def client_ip():
    """The peer address; behind GATEWAY_TRUSTED_PROXIES proxies, the address the outermost trusted
    one saw (X-Forwarded-For is only believed that far: a client can write anything before it)."""
    trusted = current_app.config["TRUSTED_PROXIES"]
    if trusted > 0:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return request.remote_addr or "unknown"
