"""Whether the services behind a page's live feeds answer (`GET /api/live/status?feeds=tickets,chat`),
for the console's Live indicator: a stream can be connected while the service whose events it
carries is down, and then the page says "Degraded" rather than "Live".

Each gateway process pings a service at most once per STATUS_TTL_SECONDS, whatever the number of
open pages (they poll every 10 s).
"""
import threading
import time

from flask import Blueprint, jsonify, request

from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.console.feeds import FEEDS
from services.tracker_gateway.core.health import _ping_all

bp = Blueprint("live_status", __name__, url_prefix="/api/live")

STATUS_TTL_SECONDS = 5.0
_cache, _lock = {}, threading.Lock()


def service_status(services, now=None):
    """{service: "ok" or why not}, from this process's cache while it is fresh."""
    now = time.monotonic() if now is None else now
    with _lock:
        stale = [s for s in services if s not in _cache or _cache[s][1] <= now]
    if stale:
        pinged = _ping_all(stale)
        with _lock:
            _cache.update((s, (pinged[s], now + STATUS_TTL_SECONDS)) for s in stale)
    with _lock:
        return {s: _cache[s][0] for s in services}


@bp.get("/status")
@login_required
def status():
    """The services of the asked feeds (each feed is named after the service that publishes it)."""
    names = [name for name in request.args.get("feeds", "").split(",") if name in FEEDS]
    results = service_status(sorted(set(names)))
    return jsonify({"services": {name: ("ok" if result == "ok" else "unavailable") for name, result in results.items()}})
