"""The consumer behind live streams: one kombu consumer per process bound to the event feeds, fanning
each event out to that process's open streams (the agents' /api/live in console/live.py, threads;
the customers' chat streams in chat_streams.py, an asyncio loop). No Flask here: the chat stream
server imports it alone.

The queue of each process is exclusive and auto-deleted, so nothing is kept while a process is
away: a stream says `ready` once its process consumes (and again after any reconnection), and a
page reloads its state on every `ready`. Events are at-least-once upstream: pages must treat
them as hints to refresh, never as counters.
"""
import logging
import os
import queue
import socket
import threading
import uuid
import weakref

from kombu import Connection, Exchange, Queue, binding

from services.tracker_gateway.console.feeds import FEEDS

log = logging.getLogger("services.tracker_gateway.console.live")

STREAMS_PER_PROCESS = 32
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
