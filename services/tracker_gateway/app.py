"""The gateway's Flask app factory: configuration, shared clients, one blueprint per surface."""
import logging.config

import redis
from flask import Flask

from services.tracker_gateway import config as gateway_config
from services.tracker_gateway.api import agents as api_agents
from services.tracker_gateway.api import auth as api_auth
from services.tracker_gateway.api import bulk as api_bulk
from services.tracker_gateway.api import canned as api_canned
from services.tracker_gateway.api import chat as api_chat
from services.tracker_gateway.api import client as api_client
from services.tracker_gateway.api import docs as api_docs
from services.tracker_gateway.api import inbound as api_inbound
from services.tracker_gateway.api import messages as api_messages
from services.tracker_gateway.api import reports as api_reports
from services.tracker_gateway.api import sla as api_sla
from services.tracker_gateway.api import tickets as api_tickets
from services.tracker_gateway.api import views as api_views
from services.tracker_gateway.api import webhooks as api_webhooks
from services.tracker_gateway.api.openapi import build_spec
from services.tracker_gateway.console import chats as console_chats
from services.tracker_gateway.console import live, live_status
from services.tracker_gateway.console import pages as console_pages
from services.tracker_gateway.console import reads as console_reads
from services.tracker_gateway.console import reports_page as console_reports
from services.tracker_gateway.console import sla_page as console_sla
from services.tracker_gateway.console import team as console_team
from services.tracker_gateway.console import webhooks_page as console_webhooks
from services.tracker_gateway.core import db, errors, health
from services.tracker_gateway.core.json_body import StrictJSONProvider
from services.tracker_gateway.core.rpc import RpcPool, release_lease
from services.tracker_gateway.core.security import add_security_headers
from services.tracker_gateway.hooks import sendgrid as hooks_sendgrid
from services.tracker_gateway.projector.read_model import TrackerView, parse_time
from services.tracker_gateway.public import chat as public_chat
from services.tracker_gateway.public import favicon, rating, support, tracker, tracker_thread
from shared.contracts.rating_links import RatingLinks
from shared.contracts.tracking_links import TrackingLinks
from shared.platform import observability


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
    app.json = StrictJSONProvider(app)
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
        # The link secret is the digest key: one secret for the read model and the signed links.
        tracking_links=TrackingLinks(settings["TRACKER_DIGEST_KEY"], settings["TRACKER_LINK_MAX_AGE_DAYS"] * 86400),
        # The resolution e-mail's CSAT links (public/rating.py), with the same secret under a salt of their own.
        rating_links=RatingLinks(settings["TRACKER_DIGEST_KEY"], settings["RATING_LINK_MAX_AGE_DAYS"] * 86400),
        # THREADS proxies, not one per thread: kombu's producer pool is 10 per process and blocks when
        # empty (docs/decisions.md). A request finding none free within a second gets a 503 (rpc.py).
        rpc_pool=RpcPool(settings["AMQP_URI"], settings["RPC_TIMEOUT"], size=threads),
        # Bulk actions (api/bulk.py) wait for a batch of up to 1,000 tickets: their own proxies and timeout.
        bulk_rpc_pool=RpcPool(settings["AMQP_URI"], settings["BULK_RPC_TIMEOUT"], size=2, wait=settings["RPC_TIMEOUT"]),
        # Probes get their own short-timeout proxies: a slow service must not hold /readyz for RPC_TIMEOUT.
        probe_pool=RpcPool(settings["AMQP_URI"], settings["READY_RPC_TIMEOUT"], size=len(health.SERVICES)),
    )

    for blueprint in (
        health.bp,
        api_auth.bp, api_bulk.bp, api_tickets.bp, api_messages.bp, api_chat.bp, api_docs.bp, api_agents.bp,  # api/
        api_client.bp, api_inbound.bp, api_views.bp, api_views.queues_bp, api_canned.bp, api_sla.bp, api_webhooks.bp,
        api_reports.bp,
        console_pages.bp, console_reads.bp, console_chats.bp, live.bp, live_status.bp, console_team.bp,  # console/
        console_sla.bp, console_reports.bp, console_webhooks.bp,
        tracker.bp, tracker_thread.bp, rating.bp, support.bp, public_chat.bp, favicon.bp,  # public/: what customers reach without logging in
        hooks_sendgrid.bp,  # hooks/: outside parties' webhooks (SendGrid Inbound Parse)
    ):
        app.register_blueprint(blueprint)
    app.extensions["openapi"] = build_spec(app)  # from the routes just registered, once
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
    app.extensions["bulk_rpc_pool"].close()
    app.extensions["gateway_sessions"].kw["bind"].dispose()
    app.extensions["redis"].close()
