"""The gateway's configuration, read from the environment in this one place.

`load(overrides)` returns a plain dict; tests and the benchmark pass overrides instead of
touching the environment.
"""
from pathlib import Path

from services.tracker_gateway.projector.config import read_model_settings
from shared.contracts import rating_links
from shared.contracts.tracking_links import DEFAULT_MAX_AGE_DAYS
from shared.platform.config import (
    amqp_uri,
    database_url,
    env,
    env_bool,
    env_float,
    env_int,
    env_list,
    is_production,
    logging_config,
    secret,
)

MIGRATIONS_DIR = Path(__file__).parent / "accounts" / "migrations"

DEV_JWT_SECRET = "development-only-jwt-secret-do-not-use-in-production!"


def gateway_database_url():
    return database_url("GATEWAY_DATABASE_URL", "deskline_gateway")


def load(overrides=None):
    """Every setting the gateway and its CLI read (the projector has its own: projector/config.py)."""
    config = {
        "PORT": env_int("GATEWAY_PORT", 8000),
        "HOST": env("GATEWAY_HOST", "127.0.0.1"),
        "WORKERS": env_int("GATEWAY_WORKERS", 2),
        # kombu's producer pool holds 10 per process and blocks when empty (docs/decisions.md): <= 10.
        "THREADS": env_int("GATEWAY_THREADS", 8),
        "ACCESS_LOG": env_bool("GATEWAY_ACCESS_LOG"),
        # Prometheus metrics of every worker, on this port of their own (unset: not served).
        "METRICS_PORT": env_int("METRICS_PORT", 0),
        "DATABASE_URL": gateway_database_url(),
        "AMQP_URI": amqp_uri(),
        # REDIS_URL, REDIS_PREFIX, TRACKER_DIGEST_KEY: the tracker's read model, as its projector writes it.
        **read_model_settings(),
        "JWT_SECRET": secret("JWT_SECRET", DEV_JWT_SECRET),
        "JWT_ISSUER": env("JWT_ISSUER", "deskline-gateway"),
        "JWT_AUDIENCE": env("JWT_AUDIENCE", "deskline-api"),
        "ACCESS_TOKEN_SECONDS": env_int("ACCESS_TOKEN_SECONDS", 15 * 60),
        "REFRESH_TOKEN_SECONDS": env_int("REFRESH_TOKEN_SECONDS", 30 * 86400),
        "LOGIN_FAILURES_PER_EMAIL": env_int("LOGIN_FAILURES_PER_EMAIL", 5),
        "LOGIN_FAILURES_PER_IP": env_int("LOGIN_FAILURES_PER_IP", 20),
        "LOGIN_WINDOW_SECONDS": env_int("LOGIN_WINDOW_SECONDS", 15 * 60),
        # Agents' single-use e-mail links (accounts/links.py): how long they work; how many password
        # resets may be asked for per e-mail address and per client address in a window.
        "INVITATION_TTL_SECONDS": env_int("INVITATION_TTL_SECONDS", 7 * 86400),
        "PASSWORD_RESET_TTL_SECONDS": env_int("PASSWORD_RESET_TTL_SECONDS", 3600),
        "PASSWORD_RESETS_PER_EMAIL": env_int("PASSWORD_RESETS_PER_EMAIL", 3),
        "PASSWORD_RESETS_PER_IP": env_int("PASSWORD_RESETS_PER_IP", 10),
        "PASSWORD_RESET_WINDOW_SECONDS": env_int("PASSWORD_RESET_WINDOW_SECONDS", 3600),
        "ADMIN_EMAIL": env("ADMIN_EMAIL", "admin@example.com"),
        "ADMIN_PASSWORD": env("ADMIN_PASSWORD"),
        "ADMIN_NAME": env("ADMIN_NAME", "Administrator"),
        "DEMO_CLIENT_NAME": env("DEMO_CLIENT_NAME", "Demo"),
        "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        # Each client's inbound address is <client-slug>@INBOUND_EMAIL_DOMAIN (published in the directory).
        "INBOUND_EMAIL_DOMAIN": env("INBOUND_EMAIL_DOMAIN", "support.deskline.localhost"),
        "RPC_TIMEOUT": env_float("RPC_TIMEOUT", 5.0),
        "READY_RPC_TIMEOUT": env_float("READY_RPC_TIMEOUT", 1.0),
        # A bulk action's call (up to 1,000 tickets, each updated and published as a single update is).
        "BULK_RPC_TIMEOUT": env_float("BULK_RPC_TIMEOUT", 120.0),
        # Services that must answer `ping` for /readyz: those the gateway cannot work without. The
        # others it talks to (health.SERVICES) are pinged and reported, and do not make it unready.
        "READY_SERVICES": env_list("GATEWAY_READY_SERVICES", "tickets"),
        "MAX_CONTENT_LENGTH": env_int("GATEWAY_MAX_BODY_BYTES", 256 * 1024),
        # Behind N reverse proxies, the client's address is the N-th from the right in X-Forwarded-For.
        "TRUSTED_PROXIES": env_int("GATEWAY_TRUSTED_PROXIES", 0),
        "TRACKER_LINK_MAX_AGE_DAYS": env_int("TRACKER_LINK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS),
        # How long the resolution e-mail's rating links work (public/rating.py): as the notifier signs them.
        "RATING_LINK_MAX_AGE_DAYS": env_int("RATING_LINK_MAX_AGE_DAYS", rating_links.DEFAULT_MAX_AGE_DAYS),
        "TRACKER_FAILURES_PER_IP": env_int("TRACKER_FAILURES_PER_IP", 10),
        "TRACKER_IP_WINDOW_SECONDS": env_int("TRACKER_IP_WINDOW_SECONDS", 60),
        "TRACKER_FAILURES_PER_TICKET": env_int("TRACKER_FAILURES_PER_TICKET", 100),
        "TRACKER_TICKET_WINDOW_SECONDS": env_int("TRACKER_TICKET_WINDOW_SECONDS", 3600),
        # "E-mail me a link" (public/email_link.py): requests per address and per number + address.
        "TRACKER_LINK_EMAILS_PER_IP": env_int("TRACKER_LINK_EMAILS_PER_IP", 10),
        "TRACKER_LINK_EMAILS_PER_PAIR": env_int("TRACKER_LINK_EMAILS_PER_PAIR", 3),
        "TRACKER_LINK_EMAILS_WINDOW_SECONDS": env_int("TRACKER_LINK_EMAILS_WINDOW_SECONDS", 3600),
        # The public web form (public/support.py): submissions per address and per e-mail address.
        "SUPPORT_FORM_PER_IP": env_int("SUPPORT_FORM_PER_IP", 20),
        "SUPPORT_FORM_PER_EMAIL": env_int("SUPPORT_FORM_PER_EMAIL", 5),
        "SUPPORT_FORM_WINDOW_SECONDS": env_int("SUPPORT_FORM_WINDOW_SECONDS", 3600),
        # Customers' messages on the tracker (public/tracker_thread.py): per address and per ticket.
        "TRACKER_MESSAGES_PER_IP": env_int("TRACKER_MESSAGES_PER_IP", 20),
        "TRACKER_MESSAGES_PER_TICKET": env_int("TRACKER_MESSAGES_PER_TICKET", 20),
        "TRACKER_MESSAGES_WINDOW_SECONDS": env_int("TRACKER_MESSAGES_WINDOW_SECONDS", 3600),
        # Attachments a customer may send with the web form or a tracker message (public/uploads.py).
        "PUBLIC_ATTACHMENTS_MAX_FILES": env_int("PUBLIC_ATTACHMENTS_MAX_FILES", 5),
        "PUBLIC_ATTACHMENTS_MAX_BYTES": env_int("PUBLIC_ATTACHMENTS_MAX_BYTES", 10 * 1024 * 1024),
        # Public chat, per client address, fixed windows in Redis (chat_public.py): conversations
        # started, messages posted, and reads (a customer's page polls about once a second).
        "CHAT_STARTS_PER_IP": env_int("CHAT_STARTS_PER_IP", 20),
        "CHAT_START_WINDOW_SECONDS": env_int("CHAT_START_WINDOW_SECONDS", 3600),
        "CHAT_POSTS_PER_IP": env_int("CHAT_POSTS_PER_IP", 60),
        "CHAT_POST_WINDOW_SECONDS": env_int("CHAT_POST_WINDOW_SECONDS", 60),
        "CHAT_READS_PER_IP": env_int("CHAT_READS_PER_IP", 600),
        "CHAT_READ_WINDOW_SECONDS": env_int("CHAT_READ_WINDOW_SECONDS", 60),
        # The customers' chat stream server (chat_streams.py, `python -m services.tracker_gateway chat-stream`):
        # its port; where the page opens streams ("" = PUBLIC_BASE_URL on CHAT_STREAM_PORT, as under
        # `make run`; "same-origin" = the page's own origin, an edge proxy routing .../stream there);
        # the page origins it answers (CORS; "" = PUBLIC_BASE_URL's); open streams per process and per address.
        "CHAT_STREAM_PORT": env_int("CHAT_STREAM_PORT", 8001),
        "CHAT_STREAM_URL": env("CHAT_STREAM_URL", ""),
        "CHAT_STREAM_ORIGINS": env_list("CHAT_STREAM_ORIGINS", ""),
        "CHAT_STREAMS_MAX": env_int("CHAT_STREAMS_MAX", 20000),
        "CHAT_STREAMS_PER_IP": env_int("CHAT_STREAMS_PER_IP", 50),
        "PRODUCTION": is_production(),
        "LOGGING": logging_config(),
    }
    config.update(overrides or {})
    return config
