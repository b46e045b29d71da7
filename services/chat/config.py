"""The chat service's configuration, read from the environment in this one place."""
from pathlib import Path

from shared.platform.config import amqp_uri, consumer_settings, database_url, env_int, logging_config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def chat_database_url():
    return database_url("CHAT_DATABASE_URL", "deskline_chat")


def nameko_config():
    return {
        "AMQP_URI": amqp_uri(),
        "DB_URIS": {"chat:Base": chat_database_url()},
        # Workers are also the prefetch count; PostgreSQL connections follow them.
        "max_workers": env_int("CHAT_MAX_WORKERS", 10),
        "OUTBOX_BATCH_SIZE": env_int("CHAT_OUTBOX_BATCH_SIZE", 200),
        # An open chat no agent answered, quiet this long, is closed as missed (0: never); checked this often.
        "UNANSWERED_CLOSE_SECONDS": env_int("CHAT_UNANSWERED_CLOSE_SECONDS", 1800),
        "UNANSWERED_CHECK_SECONDS": env_int("CHAT_UNANSWERED_CHECK_SECONDS", 60),
        **consumer_settings(),
        "LOGGING": logging_config(),
    }
