"""Calling nameko services from Flask: a pool of standalone RPC proxies, and the translation of
every transport failure into one typed local error (`ServiceUnavailable`).

A standalone ClusterRpcProxy is not safe between concurrent threads (docs/decisions.md), and making
one costs ~14 ms and a reply queue: the pool hands each concurrent request its own, created on
first need in the worker process (after gunicorn's fork) and reused. Typed remote errors
(shared.contracts.exceptions) pass through unchanged; errors.py maps all of them to HTTP.
"""
import logging
import os
import socket
import threading

from amqp.exceptions import AMQPError
from flask import current_app, g
from kombu import Connection
from kombu.exceptions import KombuError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

import shared.contracts.exceptions  # noqa: F401  (registers the typed remote errors with nameko)
from services.tracker_gateway.core.errors import ServiceUnavailable
from shared.contracts.exceptions import Unavailable
from shared.platform.observability import rpc_call

log = logging.getLogger(__name__)

# A proxy that failed in one of these ways may hold a dead connection or a stale reply: replace it.
TRANSPORT_ERRORS = (socket.error, AMQPError, KombuError, ConnectionError)
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}


class RpcPool:
    """Up to `size` proxies, each used by one request at a time (LIFO, so hot ones stay hot).

    A request waits at most `wait` seconds (default: a second, or the call timeout if shorter) for
    a free proxy, then gets ServiceUnavailable (a 503) rather than sitting out a whole call timeout.
    """

    # Proxies are held ~4 ms per call: a second without one free means the pool is saturated.
    DEFAULT_WAIT = 1.0

    def __init__(self, amqp_uri, timeout, size, wait=None, connect=None):
        self.config = {"AMQP_URI": amqp_uri}
        self.timeout = timeout
        # How a new proxy is made and started (the unit tests pass a fake instead of a broker).
        self.connect = connect or self._connect
        self.wait = min(timeout, self.DEFAULT_WAIT) if wait is None else wait
        self.size = size
        self._idle = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self._pid = os.getpid()

    def _forget_if_forked(self):
        # A forked child must not use its parent's sockets; it builds its own proxies.
        if os.getpid() != self._pid:
            self._idle, self._pid = [], os.getpid()

    def checkout(self):
        if not self._slots.acquire(timeout=self.wait):
            raise ServiceUnavailable("gateway", "all RPC proxies busy")
        with self._lock:
            self._forget_if_forked()
            standalone = self._idle.pop() if self._idle else None
        if standalone is None:
            try:
                standalone = self.connect()
            except TRANSPORT_ERRORS + (OSError,) as exc:
                self._slots.release()
                log.warning("rpc: cannot connect to the broker: %r", exc)
                raise ServiceUnavailable("broker", "message broker unreachable") from None
        return standalone

    def _connect(self):
        self._refuse_fast_if_broker_down()
        standalone = ClusterRpcProxy(self.config, timeout=self.timeout)
        standalone.start()
        return standalone

    def _refuse_fast_if_broker_down(self):
        # kombu waits 2 s and tries again when the broker refuses the connection a new proxy opens:
        # while the broker is down every request would wait that long for its 503. A plain TCP connect
        # tells it in a millisecond (only when a proxy is made: rare outside an outage).
        url = Connection(self.config["AMQP_URI"])
        socket.create_connection((url.hostname, url.port or 5672), timeout=self.wait).close()

    def checkin(self, standalone, broken=False):
        try:
            if broken:
                self._discard(standalone)
            else:
                with self._lock:
                    self._idle.append(standalone)
        finally:
            self._slots.release()

    @staticmethod
    def _discard(standalone):
        try:
            standalone.stop()
        except Exception:  # closing a dead connection may fail: it is being dropped anyway
            pass

    def close(self):
        with self._lock:
            idle, self._idle = self._idle, []
        for standalone in idle:
            self._discard(standalone)

    def call(self, service, method, *args, **kwargs):
        """One call with its own checkout (outside a request: CLI, probes)."""
        lease = Lease(self)
        try:
            return lease.call(service, method, *args, **kwargs)
        finally:
            lease.release()


class Lease:
    """One proxy checked out of the pool, used for every call of one request."""

    def __init__(self, pool):
        self.pool = pool
        self.standalone = None
        self.broken = False

    def call(self, service, method, *args, **kwargs):
        if self.standalone is None:
            self.standalone = self.pool.checkout()
        method_proxy = getattr(getattr(self.standalone._proxy, service), method)
        # Broker away: one quick retry, then a 503, not kombu's default three retries (seconds per request).
        method_proxy.publisher.retry_policy = PUBLISH_RETRY_POLICY
        try:
            return rpc_call(self.standalone, service, method, method_proxy, *args, **kwargs)
        except RpcTimeout:
            # The late reply would land in this proxy's reply buffer forever: start afresh.
            self.broken = True
            raise ServiceUnavailable(service, f"no answer within {self.pool.timeout:g}s", timed_out=True) from None
        except UnknownService:
            raise ServiceUnavailable(service, "service not running") from None
        except Unavailable:
            raise ServiceUnavailable(service, "a store it needs is unreachable") from None
        except TRANSPORT_ERRORS + (RuntimeError,) as exc:
            # RuntimeError: nameko's "consumer has been disconnected" (the broker went away).
            self.broken = True
            log.warning("rpc: %s.%s failed in transport: %r", service, method, exc)
            raise ServiceUnavailable(service, "message broker unreachable") from None

    def release(self):
        if self.standalone is not None:
            self.pool.checkin(self.standalone, self.broken)
            self.standalone = None


class RemoteService:
    """`tickets().get_ticket(ref)` reads like a local call; the request's lease does the RPC."""

    def __init__(self, name):
        self.name = name

    def __getattr__(self, method):
        def call(*args, **kwargs):
            return _lease().call(self.name, method, *args, **kwargs)
        return call


def _lease():
    if "rpc_lease" not in g:
        g.rpc_lease = Lease(current_app.extensions["rpc_pool"])
    return g.rpc_lease


def release_lease(exc=None):
    lease = g.pop("rpc_lease", None)
    if lease is not None:
        lease.release()


def tickets():
    return RemoteService("tickets")


def chat():
    return RemoteService("chat")
