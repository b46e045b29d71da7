"""The tracker projector's configuration, read from the environment in this one place: the broker,
the read model's Redis, and the key of the e-mail digests in it. No JWT secret, no database: the
projector only turns ticket events into the tracker's read model."""
from shared.contracts.tracking_links import DEV_SECRET
from shared.platform.config import amqp_uri, consumer_settings, env, env_int, logging_config, secret


def read_model_settings():
    """Where the tracker's read model lives: the projector writes it, the gateway's tracker reads it."""
    return {
        "REDIS_URL": env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # Every Redis key the gateway and its projector write starts with this (tests use their own).
        "REDIS_PREFIX": env("GATEWAY_REDIS_PREFIX", "deskline:gw:"),
        # Keys the e-mail digests in the read model: the tracking links' secret, so that the projector,
        # every gateway and the notifier agree without one more secret to distribute.
        "TRACKER_DIGEST_KEY": secret("TRACKER_LINK_SECRET", DEV_SECRET),
    }


def nameko_config(overrides=None):
    config = {
        "AMQP_URI": amqp_uri(),
        **read_model_settings(),
        # Workers are also the prefetch count.
        "max_workers": env_int("TRACKER_PROJECTOR_MAX_WORKERS", 10),
        **consumer_settings(),
        "LOGGING": logging_config(),
    }
    config.update(overrides or {})
    return config
