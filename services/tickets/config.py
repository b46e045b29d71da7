"""The tickets service's configuration, read from the environment in this one place."""
from pathlib import Path

from shared.platform.config import amqp_uri, database_url, env_float, env_int, logging_config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def tickets_database_url():
    return database_url("TICKETS_DATABASE_URL", "deskline_tickets")


def nameko_config():
    return {
        "AMQP_URI": amqp_uri(),
        "DB_URIS": {"tickets:Base": tickets_database_url()},
        # Workers are also the prefetch count; PostgreSQL connections follow them.
        "max_workers": env_int("TICKETS_MAX_WORKERS", 10),
        "OUTBOX_BATCH_SIZE": env_int("TICKETS_OUTBOX_BATCH_SIZE", 200),
        "LOGGING": logging_config(),
    }


def sla_tick_seconds():
    """How often the SLA scheduler looks for warnings and breaches that have come due (read at import:
    nameko's timer takes its interval when the class is made)."""
    return env_float("TICKETS_SLA_TICK_SECONDS", 15.0)
