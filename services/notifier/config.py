"""The notifier's configuration, read from the environment in this one place."""
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.contracts import rating_links
from shared.contracts.tracking_links import DEFAULT_MAX_AGE_DAYS, DEV_SECRET, TrackingLinks
from shared.platform.config import (
    MissingSecret,
    amqp_uri,
    consumer_settings,
    database_url,
    env,
    env_bool,
    env_float,
    env_int,
    is_production,
    logging_config,
    secret,
)

from .emails import normalize_address

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
EMAIL_BACKENDS = ("console", "smtp", "sendgrid")
SMS_BACKENDS = ("console", "twilio")


class ConfigurationError(RuntimeError):
    """The notifier cannot start with this configuration."""


@dataclass(frozen=True)
class Settings:
    """Everything the notifier's domain code needs; travels in nameko's config as a plain dict."""

    email_backend: str = "console"
    sender_email: str = "support@deskline.localhost"
    sender_name: str = "Deskline Support"
    public_base_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sendgrid_api_key: str | None = None
    sendgrid_api_host: str = "https://api.sendgrid.com"
    # SMS updates (sms.py): the backend, and Twilio's account, sender number and API base (tests: a fake).
    sms_backend: str = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_api_base: str | None = None
    # One attempt (connect + send) may take this long before it counts as a transient failure.
    send_timeout: float = 30.0
    # Back-off before retry n is about base * 2**(n-1) seconds (with jitter), never above max.
    retry_base_seconds: float = 10.0
    retry_max_seconds: float = 3600.0
    max_attempts: int = 10
    # How often the retry timer looks for due deliveries, and how many it takes per look.
    retry_interval: float = 1.0
    retry_batch: int = 50
    retry_concurrency: int = 10
    # An attempt still 'sending' this long after it started is presumed lost with its process.
    in_flight_lease_seconds: float = 120.0
    # Customer-visible updates to one ticket within this many seconds of the first make one email.
    update_coalesce_seconds: float = 60.0
    # Signs the tracking links in e-mails; the gateway checks them with the same secret.
    tracker_link_secret: str = DEV_SECRET
    tracker_link_max_age_days: int = DEFAULT_MAX_AGE_DAYS
    # The resolution e-mail's rating links (shared/contracts/rating_links.py), signed with the same secret.
    rating_link_max_age_days: int = rating_links.DEFAULT_MAX_AGE_DAYS
    # Email in: replies go to support+<token>@<domain>, each client's address is <slug>@<domain>.
    inbound_email_domain: str = "support.deskline.localhost"
    inbound_max_bytes: int = 15_000_000
    inbound_sender_hourly_limit: int = 30

    @property
    def links(self):
        return TrackingLinks(self.tracker_link_secret, self.tracker_link_max_age_days * 86400)

    @property
    def rating_links(self):
        return rating_links.RatingLinks(self.tracker_link_secret, self.rating_link_max_age_days * 86400)

    @classmethod
    def from_config(cls, config):
        """The settings inside a nameko config dict (key NOTIFIER); defaults for anything absent."""
        return cls(**config.get("NOTIFIER", {}))

    def check(self):
        """Refuse settings that cannot send mail (at start, not at the first email)."""
        if self.email_backend not in EMAIL_BACKENDS:
            raise ConfigurationError(f"EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}")
        if self.email_backend == "sendgrid" and not self.sendgrid_api_key:
            raise ConfigurationError("EMAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        if self.sms_backend not in SMS_BACKENDS:
            raise ConfigurationError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")
        if self.sms_backend == "twilio" and not (self.twilio_account_sid and self.twilio_auth_token and self.twilio_from):
            raise ConfigurationError("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM")
        if normalize_address(self.sender_email) is None:
            raise ConfigurationError(f"SENDER_EMAIL is not an email address: {self.sender_email!r}")
        if self.in_flight_lease_seconds <= 2 * self.send_timeout:
            # A slow but live attempt must not be taken for a lost one and sent again beside it.
            raise ConfigurationError("NOTIFIER_IN_FLIGHT_LEASE_SECONDS must exceed twice NOTIFIER_SEND_TIMEOUT")
        if self.update_coalesce_seconds < 0:
            raise ConfigurationError("NOTIFIER_UPDATE_COALESCE_SECONDS must not be negative")
        if self.max_attempts < 1:
            raise ConfigurationError("NOTIFIER_MAX_ATTEMPTS must be at least 1")
        if normalize_address(f"support@{self.inbound_email_domain}") is None:
            raise ConfigurationError(f"INBOUND_EMAIL_DOMAIN is not a mail domain: {self.inbound_email_domain!r}")
        if is_production() and self.tracker_link_secret == DEV_SECRET:
            raise MissingSecret("TRACKER_LINK_SECRET must be set when DESKLINE_ENV=production")
        return self


def settings_from_env():
    if is_production() and env("SENDER_EMAIL") is None:
        raise ConfigurationError("SENDER_EMAIL must be set when DESKLINE_ENV=production")
    defaults = Settings()
    return Settings(
        email_backend=env("EMAIL_BACKEND", defaults.email_backend).strip().lower(),
        sender_email=env("SENDER_EMAIL", defaults.sender_email),
        sender_name=env("SENDER_NAME", defaults.sender_name),
        public_base_url=env("PUBLIC_BASE_URL", defaults.public_base_url),
        smtp_host=env("SMTP_HOST", defaults.smtp_host),
        smtp_port=env_int("SMTP_PORT", defaults.smtp_port),
        smtp_username=env("SMTP_USERNAME"),
        smtp_password=env("SMTP_PASSWORD"),
        smtp_starttls=env_bool("SMTP_STARTTLS"),
        sendgrid_api_key=env("SENDGRID_API_KEY"),
        sendgrid_api_host=env("SENDGRID_API_HOST", defaults.sendgrid_api_host),
        sms_backend=env("SMS_BACKEND", defaults.sms_backend).strip().lower(),
        twilio_account_sid=env("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=env("TWILIO_AUTH_TOKEN"),
        twilio_from=env("TWILIO_FROM"),
        twilio_api_base=env("TWILIO_API_BASE"),
        send_timeout=env_float("NOTIFIER_SEND_TIMEOUT", defaults.send_timeout),
        retry_base_seconds=env_float("NOTIFIER_RETRY_BASE_SECONDS", defaults.retry_base_seconds),
        retry_max_seconds=env_float("NOTIFIER_RETRY_MAX_SECONDS", defaults.retry_max_seconds),
        max_attempts=env_int("NOTIFIER_MAX_ATTEMPTS", defaults.max_attempts),
        retry_interval=env_float("NOTIFIER_RETRY_INTERVAL", defaults.retry_interval),
        retry_batch=env_int("NOTIFIER_RETRY_BATCH", defaults.retry_batch),
        retry_concurrency=env_int("NOTIFIER_RETRY_CONCURRENCY", defaults.retry_concurrency),
        in_flight_lease_seconds=env_float("NOTIFIER_IN_FLIGHT_LEASE_SECONDS", defaults.in_flight_lease_seconds),
        tracker_link_secret=secret("TRACKER_LINK_SECRET", DEV_SECRET),
        tracker_link_max_age_days=env_int("TRACKER_LINK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS),
        rating_link_max_age_days=env_int("RATING_LINK_MAX_AGE_DAYS", rating_links.DEFAULT_MAX_AGE_DAYS),
        update_coalesce_seconds=env_float("NOTIFIER_UPDATE_COALESCE_SECONDS", defaults.update_coalesce_seconds),
        inbound_email_domain=env("INBOUND_EMAIL_DOMAIN", defaults.inbound_email_domain).strip().lower(),
        inbound_max_bytes=env_int("INBOUND_MAX_BYTES", defaults.inbound_max_bytes),
        inbound_sender_hourly_limit=env_int("INBOUND_SENDER_HOURLY_LIMIT", defaults.inbound_sender_hourly_limit),
    ).check()


def inbound_smtp_address():
    """Where `python -m services.notifier inbound-smtp` listens (a client's MX or forwarding points here)."""
    return env("INBOUND_SMTP_HOST", "127.0.0.1"), env_int("INBOUND_SMTP_PORT", 2525)


def notifier_database_url():
    return database_url("NOTIFIER_DATABASE_URL", "deskline_notifier")


def nameko_config():
    return {
        "AMQP_URI": amqp_uri(),
        "DB_URIS": {"notifier:Base": notifier_database_url()},
        # Workers are also the prefetch count: events in flight at once, each with its own send.
        "max_workers": env_int("NOTIFIER_MAX_WORKERS", 10),
        "NOTIFIER": asdict(settings_from_env()),
        **consumer_settings(),
        "LOGGING": logging_config(),
    }

