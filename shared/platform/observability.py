"""Observability for every process: JSON logs that carry a correlation id across HTTP, RPC and events,
and Prometheus metrics (docs/operations.md says how to read them and what to alert on).

- The gateway takes a request's id from `X-Request-ID` (or makes one), logs the request, returns the
  id, and puts it in the nameko context data of every RPC call it makes (`rpc_call`).
- Every nameko service carries `Observability` (through `shared.platform.runtime.Pingable`): a worker takes the
  id from its context data (or makes one), so its log lines, the RPC calls and the events it makes
  carry it; a handler of such an event does the same, down to the notifier's email log line.
- Metrics are prometheus_client objects registered by `init()`, which every entry point calls. nameko services serve them on METRICS_PORT
  (unset: not served); the gateway on GET /metrics, summed over gunicorn's workers when
  PROMETHEUS_MULTIPROC_DIR is set (`python -m services.tracker_gateway run` sets it).
"""
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

from nameko.events import EventDispatcher, EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    values,
)
from prometheus_client.core import GaugeMetricFamily

from shared.platform.config import env_int

log = logging.getLogger("deskline")

CONTEXT_KEY = "correlation_id"  # in nameko's context data, so in AMQP headers as nameko.correlation_id
HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Per thread under gunicorn, per greenlet under nameko (eventlet patches threading.local).
_local = threading.local()



# ------------------------------------------------------------------ metrics

class _OutboxBacklog:
    """Collector: each running service's unpublished outbox rows, counted when scraped (a partial index
    on `published_at IS NULL` keeps the count cheap)."""

    def __init__(self):
        self.sources = {}

    def collect(self):
        family = GaugeMetricFamily("deskline_outbox_backlog", "Events committed but not yet published", labels=["service"])
        for service, count in list(self.sources.items()):
            try:
                family.add_metric([service], count())
            except Exception as exc:  # the database is away: no sample rather than a failed scrape
                log.warning("metrics: outbox backlog of %s unavailable: %r", service, exc)
        yield family


class Metrics:
    """The Prometheus metrics of a Deskline process, registered once by `init()`."""

    def __init__(self, registry):
        self.rpc_handled = Counter("deskline_rpc_handled_total", "RPC calls a service handled",
                                   ["service", "method", "outcome"], registry=registry)
        self.rpc_handled_seconds = Histogram("deskline_rpc_handled_seconds", "Time a service spent on an RPC call",
                                             ["service", "method"], registry=registry)
        self.events_consumed = Counter("deskline_events_consumed_total", "Events a service's handlers processed",
                                       ["service", "event_type", "outcome"], registry=registry)
        self.events_published = Counter("deskline_events_published_total",
                                        "Events a service published (outbox fast path and relay)",
                                        ["service", "event_type", "outcome"], registry=registry)
        self.email_deliveries = Counter("deskline_email_deliveries_total", "Email delivery attempts by the status they left",
                                        ["status"], registry=registry)
        self.http_requests = Counter("deskline_http_requests_total", "HTTP requests the gateway answered",
                                     ["method", "endpoint", "status"], registry=registry)
        self.http_seconds = Histogram("deskline_http_request_seconds", "Time the gateway took to answer",
                                      ["method", "endpoint"], registry=registry)
        self.rpc_calls = Counter("deskline_rpc_calls_total", "RPC calls the gateway made",
                                 ["service", "method", "outcome"], registry=registry)
        self.rpc_call_seconds = Histogram("deskline_rpc_call_seconds", "RPC round trips from the gateway",
                                          ["service", "method"], registry=registry)
        self.outbox_backlog = _OutboxBacklog()
        registry.register(self.outbox_backlog)


_metrics = None
_init_lock = threading.Lock()


def init(registry=REGISTRY):
    """Register this process's metrics (idempotent). Every entry point calls it, through
    `shared.platform.runtime.init()` (nameko services) or `init_flask` (the gateway)."""
    global _metrics
    with _init_lock:
        if _metrics is None:
            _metrics = Metrics(registry)
    return _metrics


def current_metrics():
    if _metrics is None:
        raise RuntimeError("shared.platform.observability.init() was not called in this process")
    return _metrics


# ------------------------------------------------------------------ correlation id and logs

def current_correlation_id():
    return getattr(_local, "value", None)


def set_correlation_id(value):
    _local.value = value


def new_correlation_id():
    return uuid.uuid4().hex


def accepted_correlation_id(value):
    """A caller's id if it is short and plain (it ends up in logs and headers), else a new one."""
    return value if value and _VALID_ID.match(value) else new_correlation_id()


class CorrelationFilter(logging.Filter):
    """Puts the current correlation id on every record (None outside a request or worker)."""

    def filter(self, record):
        record.correlation_id = current_correlation_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, correlation_id, any `extra={"fields": {...}}`."""

    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "correlation_id", None):
            entry["correlation_id"] = record.correlation_id
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# ------------------------------------------------------------------ nameko services

_server_lock = threading.Lock()
_served_ports = set()


def prepare_multiprocess_metrics():
    """Before gunicorn starts: a fresh, empty PROMETHEUS_MULTIPROC_DIR (unless one is set), where each
    worker writes its own counts and /metrics sums them."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="deskline-metrics-")


def serve_gateway_metrics(port):
    """gunicorn's master, once its workers may start: every worker's metrics, summed from the files they
    write in PROMETHEUS_MULTIPROC_DIR, on a port of their own (never the public one)."""
    from prometheus_client import multiprocess, start_http_server

    if values.ValueClass is values.MutexValue:  # no PROMETHEUS_MULTIPROC_DIR: the workers' counts are out of reach
        log.warning("gateway metrics not served: start the gateway with `python -m services.tracker_gateway run`")
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)
    log.info("gateway metrics on :%d/metrics", port)


def serve_metrics(port):
    """Serve the default registry on `port` (once per process, however many containers it runs)."""
    from prometheus_client import start_http_server

    with _server_lock:
        if port not in _served_ports:
            start_http_server(port)
            _served_ports.add(port)
            log.info("metrics on :%d/metrics", port)


def _outcome(worker_ctx, exc_info):
    if exc_info is None:
        return "ok"
    return "expected_error" if isinstance(exc_info[1], worker_ctx.entrypoint.expected_exceptions) else "error"


class Observability(DependencyProvider):
    """Per worker: the correlation id (from the context data, or new) for its logs and for the calls and
    events it makes; its metrics and one log line per RPC call or event handled. Per process: the
    metrics endpoint (METRICS_PORT) and the outbox backlog of a service that has one."""

    def setup(self):
        init()
        port = env_int("METRICS_PORT", 0)
        if port:
            serve_metrics(port)
        self.service_name = self.container.service_name
        self.dispatchers = [dep for dep in self.container.dependencies if isinstance(dep, EventDispatcher)]
        self.started = {}
        model = getattr(self.container.service_cls, "outbox_model", None)
        database = next((dep for dep in self.container.dependencies if hasattr(dep, "declarative_base")), None)
        if model is not None and database is not None:
            from sqlalchemy.orm import Session

            from shared.platform.outbox import PublishedMarks, unpublished_count

            marks = next((dep for dep in self.container.dependencies if isinstance(dep, PublishedMarks)), None)

            def count():
                if marks is not None:
                    marks.flush()  # rows already published, waiting for their batched mark, are not backlog
                with Session(bind=database.engine) as session:
                    return unpublished_count(session, model)
            current_metrics().outbox_backlog.sources[self.service_name] = count

    def stop(self):
        current_metrics().outbox_backlog.sources.pop(self.service_name, None)

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return None

    def worker_setup(self, worker_ctx):
        correlation_id = worker_ctx.data.get(CONTEXT_KEY) or new_correlation_id()
        worker_ctx.data[CONTEXT_KEY] = correlation_id
        set_correlation_id(correlation_id)
        self.started[worker_ctx] = time.perf_counter()
        for dispatcher in self.dispatchers:
            # Injected before this ran: inject again so that its headers carry the id, and count.
            dispatch = dispatcher.get_dependency(worker_ctx)
            setattr(worker_ctx.service, dispatcher.attr_name, self._counted(dispatch))

    def _counted(self, dispatch):
        service = self.service_name

        def counted_dispatch(event_type, event_data):
            try:
                dispatch(event_type, event_data)
            except Exception:
                current_metrics().events_published.labels(service, event_type, "error").inc()
                raise
            current_metrics().events_published.labels(service, event_type, "ok").inc()
        return counted_dispatch

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        try:
            elapsed = time.perf_counter() - self.started.pop(worker_ctx, time.perf_counter())
            entrypoint, outcome = worker_ctx.entrypoint, _outcome(worker_ctx, exc_info)
            if isinstance(entrypoint, Rpc):
                current_metrics().rpc_handled.labels(self.service_name, entrypoint.method_name, outcome).inc()
                current_metrics().rpc_handled_seconds.labels(self.service_name, entrypoint.method_name).observe(elapsed)
                log.info("rpc %s.%s %s in %.1f ms", self.service_name, entrypoint.method_name, outcome, elapsed * 1000,
                         extra={"fields": {"rpc": f"{self.service_name}.{entrypoint.method_name}", "outcome": outcome,
                                           "duration_ms": round(elapsed * 1000, 1)}})
            elif isinstance(entrypoint, EventHandler):
                current_metrics().events_consumed.labels(self.service_name, entrypoint.event_type, outcome).inc()
                log.info("event %s handled by %s.%s: %s in %.1f ms", entrypoint.event_type, self.service_name,
                         entrypoint.method_name, outcome, elapsed * 1000,
                         extra={"fields": {"event_type": entrypoint.event_type, "outcome": outcome,
                                           "duration_ms": round(elapsed * 1000, 1)}})
        except Exception:  # metrics must never fail a worker
            log.exception("metrics: recording %s failed", worker_ctx)

    def worker_teardown(self, worker_ctx):
        self.started.pop(worker_ctx, None)
        set_correlation_id(None)


def record_email_delivery(status, delivery_id):
    """The notifier, after each attempt: count it by the status it left, log it with the correlation id."""
    current_metrics().email_deliveries.labels(status).inc()
    log.info("email delivery %s: %s", delivery_id, status, extra={"fields": {"delivery_id": delivery_id, "status": status}})


# ------------------------------------------------------------------ the gateway (Flask under gunicorn)

def rpc_call(standalone, service, method, call, *args, **kwargs):
    """Make one RPC call through a standalone proxy with the request's correlation id, timed and counted."""
    standalone._worker_ctx.data[CONTEXT_KEY] = current_correlation_id() or new_correlation_id()
    started = time.perf_counter()
    outcome = "ok"
    try:
        return call(*args, **kwargs)
    except Exception as exc:
        outcome = type(exc).__name__
        raise
    finally:
        current_metrics().rpc_calls.labels(service, method, outcome).inc()
        current_metrics().rpc_call_seconds.labels(service, method).observe(time.perf_counter() - started)


QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}


def init_flask(app):
    """Request ids, one JSON log line and metrics per request, and GET /metrics for Prometheus."""
    from flask import g, request

    init()
    access = logging.getLogger("deskline.access")

    @app.before_request
    def take_correlation_id():
        g.correlation_id = accepted_correlation_id(request.headers.get(HEADER))
        g.request_started = time.perf_counter()
        set_correlation_id(g.correlation_id)

    @app.after_request
    def record_request(response):
        response.headers[HEADER] = g.get("correlation_id", "")
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        current_metrics().http_requests.labels(request.method, endpoint, str(response.status_code)).inc()
        current_metrics().http_seconds.labels(request.method, endpoint).observe(elapsed)
        if request.path not in QUIET_PATHS:
            # The route, not the path: a path can carry a secret (/track-ticket/<token>).
            route = request.url_rule.rule if request.url_rule is not None else request.path[:200]
            access.info("%s %s %s in %.1f ms", request.method, route, response.status_code, elapsed * 1000,
                        extra={"fields": {"method": request.method, "path": route, "endpoint": endpoint,
                                          "status": response.status_code, "duration_ms": round(elapsed * 1000, 1)}})
        return response

    @app.teardown_request
    def forget_correlation_id(exc=None):
        set_correlation_id(None)


