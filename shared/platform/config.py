"""Reading configuration from the environment: the helpers every service's config.py uses."""
import os

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_int(name, default):
    return int(env(name, default))


def env_float(name, default):
    return float(env(name, default))


def env_bool(name, default=False):
    return str(env(name, default)).strip().lower() in ("1", "true", "yes", "on")


def env_list(name, default):
    """A comma-separated list."""
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def database_url(name, default_database):
    """`<NAME>_DATABASE_URL`, defaulting to a local database; always the psycopg2 driver.

    SQLAlchemy 2.1 maps plain `postgresql://` to psycopg 3, which we do not install.
    """
    url = env(name, f"postgresql+psycopg2://postgres@127.0.0.1:5432/{default_database}")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def amqp_uri():
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def logging_config(level=None):
    """One log format for every service (a dictConfig, as nameko's LOGGING key expects).

    LOG_FORMAT=json writes one JSON object per line, with the correlation id of the request or worker
    that logged it (shared/platform/observability.py); `plain`, the default, is for reading in a terminal.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
            "json": {"()": "shared.platform.observability.JsonFormatter"},
        },
        "filters": {"correlation": {"()": "shared.platform.observability.CorrelationFilter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": env("LOG_FORMAT", "plain"),
                                 "filters": ["correlation"]}},
        "root": {"level": level or env("LOG_LEVEL", "INFO"), "handlers": ["console"]},
        # Alembic announces each of its plugins at INFO on every migrate.
        "loggers": {"alembic.runtime.plugins": {"level": "WARNING"}},
    }


def consumer_settings():
    """Settings of the event consumer policy (shared/platform/consumers.py), the same in every consumer."""
    return {"CONSUMER_REQUEUE_DELAY": env_float("CONSUMER_REQUEUE_DELAY", 1.0)}


class MissingSecret(RuntimeError):
    """A secret without which a production process must not start."""


def is_production():
    return env("DESKLINE_ENV", "development") == "production"


def secret(name, development_default, min_bytes=32):
    """A secret from the environment. In production there is no default and a short one is refused;
    in development a fixed, clearly insecure default keeps `make run` a single command."""
    value = env(name)
    if value is None:
        if is_production():
            raise MissingSecret(f"{name} must be set when DESKLINE_ENV=production")
        return development_default
    if is_production() and len(value.encode()) < min_bytes:
        raise MissingSecret(f"{name} must be at least {min_bytes} bytes")
    if is_production() and value == development_default:
        # Copied from a development setup: public knowledge (it is in the source), so no secret.
        raise MissingSecret(f"{name} is the development value; set a secret of your own when DESKLINE_ENV=production")
    return value
