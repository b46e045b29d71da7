"""The webhooks process's configuration (`python -m services.notifier webhooks`), read from the environment
in this one place; it shares the notifier's database and broker settings (services/notifier/config.py)."""
from dataclasses import asdict, dataclass

from shared.platform.config import amqp_uri, consumer_settings, env_bool, env_float, env_int, is_production, logging_config

from ..config import ConfigurationError, Settings, notifier_database_url, settings_from_env


@dataclass(frozen=True)
class WebhookSettings:
    """The webhooks process's settings (`python -m services.notifier webhooks`); `mail` is the notifier's,
    for the e-mail to admins it records when it switches an endpoint off."""

    # Development and tests only: deliver to loopback and private addresses too.
    allow_private: bool = False
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    # One attempt, redirects included, never takes longer than this.
    total_timeout: float = 15.0
    response_cap_bytes: int = 4096
    excerpt_chars: int = 500
    # Back-off before retry n: about base * 2**(n-1) seconds (equal jitter), never above max.
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    # A delivery is retried this long, then dead; an endpoint failing this long is switched off.
    retry_window_seconds: float = 86400.0
    disable_after_seconds: float = 86400.0
    # Attempts in flight at once in one process, and how often the timer looks for due retries.
    concurrency: int = 50
    poll_interval: float = 0.5
    # An attempt still 'sending' this long after it was claimed is presumed lost with its process.
    lease_seconds: float = 60.0
    mail: Settings = Settings()

    @classmethod
    def from_config(cls, config):
        values = dict(config.get("WEBHOOKS", {}))
        return cls(**{**values, "mail": Settings(**values.get("mail", {}))})

    def check(self):
        if self.lease_seconds <= 2 * self.total_timeout:
            raise ConfigurationError("WEBHOOK_LEASE_SECONDS must exceed twice WEBHOOK_TOTAL_TIMEOUT")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0 or self.concurrency < 1:
            raise ConfigurationError("webhook timeouts must be positive and WEBHOOK_CONCURRENCY at least 1")
        if self.allow_private and is_production():
            raise ConfigurationError("WEBHOOK_ALLOW_PRIVATE=true is for development and tests, not production")
        return self


def webhook_settings_from_env():
    defaults = WebhookSettings()
    return WebhookSettings(
        allow_private=env_bool("WEBHOOK_ALLOW_PRIVATE"),
        connect_timeout=env_float("WEBHOOK_CONNECT_TIMEOUT", defaults.connect_timeout),
        read_timeout=env_float("WEBHOOK_READ_TIMEOUT", defaults.read_timeout),
        total_timeout=env_float("WEBHOOK_TOTAL_TIMEOUT", defaults.total_timeout),
        response_cap_bytes=env_int("WEBHOOK_RESPONSE_CAP_BYTES", defaults.response_cap_bytes),
        retry_base_seconds=env_float("WEBHOOK_RETRY_BASE_SECONDS", defaults.retry_base_seconds),
        retry_max_seconds=env_float("WEBHOOK_RETRY_MAX_SECONDS", defaults.retry_max_seconds),
        retry_window_seconds=env_float("WEBHOOK_RETRY_WINDOW_SECONDS", defaults.retry_window_seconds),
        disable_after_seconds=env_float("WEBHOOK_DISABLE_AFTER_SECONDS", defaults.disable_after_seconds),
        concurrency=env_int("WEBHOOK_CONCURRENCY", defaults.concurrency),
        poll_interval=env_float("WEBHOOK_POLL_INTERVAL", defaults.poll_interval),
        lease_seconds=env_float("WEBHOOK_LEASE_SECONDS", defaults.lease_seconds),
        mail=settings_from_env(),
    ).check()


def webhooks_nameko_config():
    """The webhooks process: the notifier's database, its own queues and workers."""
    return {
        "AMQP_URI": amqp_uri(),
        "DB_URIS": {"webhooks:Base": notifier_database_url()},
        "max_workers": env_int("WEBHOOK_MAX_WORKERS", 10),
        "WEBHOOKS": asdict(webhook_settings_from_env()),
        **consumer_settings(),
        "LOGGING": logging_config(),
    }
