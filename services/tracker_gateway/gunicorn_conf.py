"""gunicorn settings for the gateway: gthread workers, one RPC proxy per thread (made after the fork).

Measured on 2 cores (field notes): 2 workers x 8 threads gave the best tails; gevent/eventlet
matched throughput with 2-8x worse p99, and kombu's producer pool (10 per process) caps threads.
"""
from services.tracker_gateway import config as gateway_config, live

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
keepalive = 5
accesslog = "-" if _settings["ACCESS_LOG"] else None
errorlog = "-"
# Headers and request line limits stay at gunicorn's defaults; bodies are capped by MAX_CONTENT_LENGTH.


def post_worker_init(worker):
    # Open live streams would otherwise hold a stop until graceful_timeout ends, then SIGKILL.
    live.stop_streams_on_stop_signals(worker)
