"""gunicorn settings for the gateway: gthread workers, one RPC proxy per thread (made after the fork).

Measured on 2 cores (docs/decisions.md): 2 workers x 8 threads gave the best tails; gevent/eventlet
matched throughput with 2-8x worse p99, and kombu's producer pool (10 per process) caps threads.
"""
import gunicorn.http.wsgi

from services.tracker_gateway import config as gateway_config
from services.tracker_gateway.accounts import directory
from services.tracker_gateway.console import live
from services.tracker_gateway.core.http_limits import MAX_REQUEST_LINE
from shared.platform import observability

_settings = gateway_config.load()

bind = f"{_settings['HOST']}:{_settings['PORT']}"
worker_class = "gthread"
workers = _settings["WORKERS"]
# Plus one thread for each agent page's live stream (SSE holds its thread while open; live.py caps them).
threads = _settings["THREADS"] + live.STREAMS_PER_PROCESS
# The app is built in each worker, so no socket (database, Redis, broker) crosses the fork.
preload_app = False
timeout = 30
graceful_timeout = 20
# gunicorn's control socket is one fixed path per user: gateways on one machine would take it from
# each other (and the image's $HOME is read-only). Nothing of ours uses it.
control_socket_disable = True
keepalive = 5
accesslog = "-" if _settings["ACCESS_LOG"] else None
# No request line: a path can carry a secret (/track-ticket/<token>). The app logs each request with
# its route and request id (shared/platform/observability.py); this line has the id to match it.
access_log_format = '%(h)s "%(m)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
# A request line (method, path and query string) longer than this is answered 414 by gunicorn itself,
# before the app (the OpenAPI document says so on every operation: api/openapi.py, URI_TOO_LONG).
# Header limits stay at gunicorn's defaults; bodies are capped by MAX_CONTENT_LENGTH.
limit_request_line = MAX_REQUEST_LINE


# The Server header names no software and no version (gunicorn's would say "gunicorn").
gunicorn.http.wsgi.SERVER = "Deskline"


def when_ready(server):
    # Metrics on their own port, served by the master for every worker (METRICS_PORT; unset: none).
    if _settings["METRICS_PORT"]:
        observability.serve_gateway_metrics(_settings["METRICS_PORT"])
    # Every client's directory snapshot, so that consumers repair whatever a lost event left behind.
    directory.publish_at_start()


def post_worker_init(worker):
    # Open live streams would otherwise hold a stop until graceful_timeout ends, then SIGKILL.
    live.stop_streams_on_stop_signals(worker)
