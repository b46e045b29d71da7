"""The gateway's Flask app factory: configuration, shared clients, one blueprint per surface."""
import logging.config

import redis
from flask import Flask

from shared import observability

from . import agent_chats, agent_ui, api_auth, api_chat, api_docs, api_tickets, chat_public
from . import config as gateway_config, db, errors, health, live, tracker
from .openapi import build_spec
from .rpc import RpcPool, release_lease
from .security import add_security_headers
from .tracker_view import TrackerView, parse_time


def format_time(value):
    """'29 Nov 2025, 14:03 UTC' from an ISO timestamp (the page's script shows local time)."""
    if not value:
        return ""
    return parse_time(value).strftime("%d %b %Y, %H:%M UTC")


def create_app(config=None):
    """A gateway app; `config` overrides the environment (tests, the benchmark).

    Connections (database, Redis, RPC proxies) open lazily on first use, so an app created
    before gunicorn forks shares none of them with its workers.
    """
    settings = gateway_config.load(config)
    if not settings.get("TESTING"):
        logging.config.dictConfig(settings["LOGGING"])
    app = Flask(__name__)
    app.config.update(settings)
    app.json.sort_keys = False
    app.add_template_filter(format_time, "when")

    threads = settings["THREADS"]
    # Every gunicorn thread may touch Redis and the database, the live-stream ones included
    # (gunicorn_conf.py adds them): both pools count every thread. redis-py fails rather than waits
    # when its pool is empty; SQLAlchemy waits, then raises TimeoutError (errors.py: 503).
    all_threads = threads + live.STREAMS_PER_PROCESS
    redis_client = redis.Redis.from_url(
        settings["REDIS_URL"], max_connections=all_threads * 2 + 4,
        socket_timeout=2, socket_connect_timeout=2,
    )
    app.extensions.update(
        gateway_sessions=db.make_sessionmaker(settings["DATABASE_URL"], pool_size=all_threads),
        redis=redis_client,
        tracker_view=TrackerView(redis_client, settings["REDIS_PREFIX"], settings["TRACKER_DIGEST_KEY"]),
        # THREADS proxies, not one per thread: kombu's producer pool is 10 per process and blocks when
        # empty (field notes). A request finding none free within a second gets a 503 (rpc.py).
        rpc_pool=RpcPool(settings["AMQP_URI"], settings["RPC_TIMEOUT"], size=threads),
        # Probes get their own short-timeout proxies: a slow service must not hold /readyz for RPC_TIMEOUT.
        probe_pool=RpcPool(settings["AMQP_URI"], settings["READY_RPC_TIMEOUT"], size=len(health.SERVICES)),
        openapi=build_spec(settings["PUBLIC_BASE_URL"]),
    )

    for blueprint in (
        health.bp, api_auth.bp, api_tickets.bp, api_docs.bp, tracker.bp,  # the API and the public tracker
        agent_ui.bp, agent_chats.bp,  # the agent console: pages, their reads, live events
        api_chat.bp, chat_public.bp,  # live chat: the agent API, the customer's page and API
    ):
        app.register_blueprint(blueprint)
    errors.register(app)
    observability.init_flask(app)  # request ids into logs and RPC context, /metrics
    app.after_request(add_security_headers)
    app.teardown_appcontext(release_lease)
    app.teardown_appcontext(db.close_session)
    return app


def close_app(app):
    """Release what the app opened (tests create many apps in one process)."""
    app.extensions["rpc_pool"].close()
    app.extensions["probe_pool"].close()
    app.extensions["gateway_sessions"].kw["bind"].dispose()
    app.extensions["redis"].close()
