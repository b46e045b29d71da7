"""The client's address as the gateway should trust it (rate limits key on it)."""
from flask import current_app, request


def client_ip():
    """The peer address; behind GATEWAY_TRUSTED_PROXIES proxies, the address the outermost trusted
    one saw (X-Forwarded-For is only believed that far: a client can write anything before it)."""
    return peer_address(request.headers.get("X-Forwarded-For", ""), request.remote_addr,
                        current_app.config["TRUSTED_PROXIES"])


def peer_address(forwarded_for, remote_addr, trusted):
    """client_ip's rule without Flask (the chat stream server uses it too)."""
    if trusted > 0:
        forwarded = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return remote_addr or "unknown"
