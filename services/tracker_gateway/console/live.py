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
import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
import weakref

from flask import Blueprint, Response, current_app, g, request
from kombu import Connection, Exchange, Queue, binding
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.accounts import tokens
from services.tracker_gateway.console.feeds import FEEDS
from services.tracker_gateway.core.rpc import ServiceUnavailable

log = logging.getLogger(__name__)

bp = Blueprint("live", __name__, url_prefix="/api/live")

STREAMS_PER_PROCESS = 32
# Comments on an idle stream: proxies (nginx reads with a 60 s timeout) keep it open, and a
# closed tab is noticed at the next write.
HEARTBEAT_SECONDS = 15.0
# Past this many undelivered events a slow stream is told to reload instead.
BACKLOG = 200
RECONNECT_MAX_SECONDS = 10.0


# Control messages from the hub to a stream.
READY, PAUSED, STOP, OVERFLOW = "ready", "paused", "stop", "overflow"


class Subscription:
    """One open stream: the client it belongs to, the feeds it follows, what waits to be sent."""

    def __init__(self, tenant, feeds):
        self.tenant = tenant
        self.feeds = frozenset(feeds)
        self.inbox = queue.Queue(maxsize=BACKLOG)

    def offer(self, item):
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            self._drain()
            self.inbox.put_nowait(OVERFLOW)

    def control(self, item):
        # A state change makes whatever is queued stale: the page reloads on `ready` anyway.
        if item in (READY, STOP):
            self._drain()
        self.offer(item)

    def _drain(self):
        try:
            while True:
                self.inbox.get_nowait()
        except queue.Empty:
            pass


class LiveHub:
    """This process's consumer of every registered feed, and the streams it feeds.

    `_deliver` (an event to the streams) and `_broadcast` (a state change to every stream) are the
    two ways out of the consumer's thread; the customers' chat stream server (chat_streams.py)
    overrides them to hand both to its event loop.
    """

    queue_prefix = "gateway.live"

    def __init__(self, amqp_uri, capacity=STREAMS_PER_PROCESS, feeds=None):
        self.amqp_uri = amqp_uri
        self.capacity = capacity
        # The feeds this process's queue is bound to (the customers' chat stream server binds chat's alone).
        self.feeds = feeds or FEEDS
        self._subscriptions = set()
        self._lock = threading.Lock()
        self._connected = False
        self._ever_connected = False
        self._stopping = threading.Event()
        self._thread = None
        self._pid = None
        _HUBS.add(self)

    # -- streams --

    def subscribe(self, tenant, feeds):
        """A new subscription, or None when this process has no room for another stream (or stops)."""
        self._ensure_consumer()
        subscription = Subscription(tenant, feeds)
        with self._lock:
            if len(self._subscriptions) >= self.capacity or self._stopping.is_set():
                return None
            self._subscriptions.add(subscription)
            # Until this process's consumer first connects, the page just waits for `ready`.
            if self._connected or self._ever_connected:
                subscription.offer(READY if self._connected else PAUSED)
        return subscription

    def unsubscribe(self, subscription):
        with self._lock:
            self._subscriptions.discard(subscription)

    def stop(self):
        """End every stream and the consumer (the worker is stopping)."""
        self._stopping.set()
        with self._lock:
            for subscription in self._subscriptions:
                subscription.control(STOP)

    def _broadcast(self, item):
        with self._lock:
            self._connected = item == READY
            self._ever_connected |= self._connected
            for subscription in self._subscriptions:
                subscription.control(item)

    # -- the consumer --

    def _ensure_consumer(self):
        with self._lock:
            # After a fork the parent's thread does not exist here: each process starts its own.
            if self._pid != os.getpid():
                self._pid, self._thread = os.getpid(), None
                self._subscriptions, self._connected, self._ever_connected = set(), False, False
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._consume_forever, name="live-consumer", daemon=True)
            self._thread.start()

    def _queue(self):
        bindings = [
            binding(Exchange(feed.exchange, type="topic", durable=True), routing_key=key)
            for feed in self.feeds.values() for key in feed.routing_keys
        ]
        name = f"{self.queue_prefix}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        return Queue(name, bindings=bindings, exclusive=True, auto_delete=True, durable=False)

    def _consume_forever(self):
        delay = 0.5
        while not self._stopping.is_set():
            try:
                with Connection(self.amqp_uri, heartbeat=20, connect_timeout=5) as connection:
                    with connection.Consumer([self._queue()], callbacks=[self._on_message], accept=["json"], no_ack=True,
                                             on_decode_error=self._on_undecodable):
                        self._broadcast(READY)
                        delay = 0.5
                        while not self._stopping.is_set():
                            try:
                                connection.drain_events(timeout=1)
                            except socket.timeout:
                                connection.heartbeat_check()
            except Exception as exc:  # the broker went away or refused: pause the streams, then retry
                if not self._stopping.is_set():
                    log.warning("live: event consumer disconnected (%r); retrying in %.1fs", exc, delay)
            self._broadcast(PAUSED)
            self._stopping.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _on_undecodable(self, message, exc):
        # Not JSON (or not allowed): drop it rather than let it break the connection.
        log.warning("live: dropped an undecodable message from %s: %r", message.delivery_info.get("exchange"), exc)

    def _on_message(self, body, message):
        feed = next((f for f in self.feeds.values() if f.exchange == message.delivery_info.get("exchange")), None)
        try:
            tenant = str(feed.tenant_of(body["data"]))
            event = {key: body[key] for key in ("event_id", "event_type", "occurred_at", "data")}
        except (AttributeError, KeyError, TypeError):
            log.warning("live: dropped an unreadable event from %s", message.delivery_info.get("exchange"))
            return
        self._deliver(feed, tenant, event)

    def _deliver(self, feed, tenant, event):
        with self._lock:
            for subscription in self._subscriptions:
                if subscription.tenant == tenant and feed.name in subscription.feeds:
                    subscription.offer(event)


_HUBS = weakref.WeakSet()


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
