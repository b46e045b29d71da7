"""Live updates for agent pages: server-sent events (`GET /api/live?feeds=...`) fed by the services'
events over kombu, one consumer per gateway process fanning out to that process's streams, each
stream seeing only its own client's events.

A feed names an event exchange, its routing keys and where the client id sits in an event's data;
the feeds a page may follow are listed in console/feeds.py.
The queue of each process is exclusive and auto-deleted, so nothing is kept while a process is
away: a stream says `ready` once its process consumes (and again after any reconnection), and a
page reloads its state on every `ready`. Events are at-least-once upstream: pages must treat
them as hints to refresh, never as counters.

Each open stream holds one gunicorn (gthread) thread; gunicorn_conf.py adds STREAMS_PER_PROCESS
threads for them, and past that a process answers 503 (the page retries, and still works).
"""
import json
import queue
import signal
import threading
import time

from flask import Blueprint, Response, current_app, g, request
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.accounts import tokens
from services.tracker_gateway.console.feeds import FEEDS
from services.tracker_gateway.console.live_hub import (  # noqa: F401  (the hub's names, as this module's users know them)
    _HUBS,
    BACKLOG,
    OVERFLOW,
    PAUSED,
    READY,
    STOP,
    STREAMS_PER_PROCESS,
    LiveHub,
    Subscription,
)
from services.tracker_gateway.core.rpc import ServiceUnavailable

bp = Blueprint("live", __name__, url_prefix="/api/live")

# Comments on an idle stream: proxies (nginx reads with a 60 s timeout) keep it open, and a
# closed tab is noticed at the next write.
HEARTBEAT_SECONDS = 15.0

# The signals that stop a gunicorn worker: SIGTERM (graceful), SIGQUIT (the arbiter's quick stop) and
# SIGINT (Ctrl-C reaches the workers too, as the terminal signals the whole process group).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT)


def stop_streams_on_stop_signals(worker):
    """gunicorn's post_worker_init: on any stop signal end open streams at once, then stop as
    gunicorn does. A stream's thread otherwise never ends (its heartbeats keep it alive): a
    graceful stop waits the whole graceful_timeout, and a quick one (SIGQUIT, SIGINT: Ctrl-C under
    `make run`) hangs at interpreter exit, which joins the thread pool, until SIGKILL."""
    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)

        def on_stop(signum, frame, previous=previous):
            for hub in list(_HUBS):
                hub.stop()
            if callable(previous):
                previous(signum, frame)

        signal.signal(signum, on_stop)


def hub():
    """This app's hub (one per app, so one per gunicorn worker process)."""
    app = current_app._get_current_object()
    with _HUB_LOCK:
        if "live_hub" not in app.extensions:
            app.extensions["live_hub"] = LiveHub(app.config["AMQP_URI"])
        return app.extensions["live_hub"]


_HUB_LOCK = threading.Lock()


def _frame(event=None, data=None, event_id=None, comment=None):
    if comment is not None:
        return f": {comment}\n\n"
    lines = []
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append(f"data: {json.dumps(data, separators=(',', ':'))}")
    return "\n".join(lines) + "\n\n"


def _events(subscription, still_valid, expires_at):
    """The stream's text: control messages and events as SSE frames, comments while idle."""
    yield _frame(comment="live")
    while True:
        remaining = expires_at - time.time()
        if remaining <= 0:
            # The access token ran out: the page reconnects with a fresh one.
            yield _frame("expired", {})
            return
        try:
            item = subscription.inbox.get(timeout=min(HEARTBEAT_SECONDS, remaining))
        except queue.Empty:
            if not still_valid():
                yield _frame("expired", {})
                return
            yield _frame(comment="keep-alive")
            continue
        if item == STOP:
            return
        if not still_valid():  # logged out or deactivated since the last heartbeat: no more events
            yield _frame("expired", {})
            return
        if item in (READY, OVERFLOW):
            yield _frame("ready", {"feeds": sorted(subscription.feeds)})
        elif item == PAUSED:
            yield _frame("paused", {})
        else:
            yield _frame(item["event_type"], item, event_id=item["event_id"])


def _requested_feeds():
    names = [name.strip() for name in request.args.get("feeds", ",".join(FEEDS)).split(",") if name.strip()]
    unknown = [name for name in names if name not in FEEDS]
    if unknown or not names:
        raise SchemaError({"feeds": [f"Unknown feed: {', '.join(unknown)}." if unknown else "Name a feed."]})
    return names


@bp.get("")
@tokens.login_required
def stream():
    """Server-sent events of the agent's client: `ready` (reload your state), `paused` (events are
    not arriving for now), each event by its type, `expired` (reconnect with a fresh token)."""
    feeds = _requested_feeds()
    principal = g.principal
    live_hub = hub()
    subscription = live_hub.subscribe(principal.client_id, feeds)
    if subscription is None:
        raise ServiceUnavailable("live", "too many live streams on this gateway process")
    is_revoked = tokens.revocation_check(principal)

    def still_valid():
        """Not logged out, and its agent not deactivated (checked at each event and heartbeat)."""
        try:
            return not is_revoked()
        except Exception:  # Redis away: keep streaming until the token expires, as the page would
            return True

    response = Response(_events(subscription, still_valid, principal.expires), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    response.call_on_close(lambda: live_hub.unsubscribe(subscription))
    return response
