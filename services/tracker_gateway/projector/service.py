"""The tracker projector: a nameko service that keeps the public tracker's Redis read model
current from ticket.* events, and fills it once from the tickets service on a new install."""
import logging
import time

import eventlet
import redis
from marshmallow import ValidationError as EnvelopeError
from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from services.tracker_gateway import config as gateway_config
from services.tracker_gateway.projector.backfill import run_backfill
from services.tracker_gateway.projector.read_model import TrackerView
from shared.contracts.enums import TICKET_CREATED, TICKET_DELETED, TICKET_UPDATED
from shared.contracts.events import parse_envelope
from shared.platform.queues import DEAD_LETTER_QUEUE, dead_letter
from shared.platform.runtime import Pingable

log = logging.getLogger(__name__)


class ReadModel(DependencyProvider):
    """The TrackerView over a Redis client built from the service's config."""

    def setup(self):
        config = self.container.config
        self.client = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=5)
        self.view = TrackerView(self.client, config["REDIS_PREFIX"], config["TRACKER_DIGEST_KEY"])

    def stop(self):
        self.client.close()

    def get_dependency(self, worker_ctx):
        return self.view


class TrackerProjector(Pingable):
    name = "tracker_projector"

    view = ReadModel()
    config = Config()

    @event_handler("tickets", TICKET_CREATED, requeue_on_error=True)
    def on_ticket_created(self, payload):
        self._project(payload)

    @event_handler("tickets", TICKET_UPDATED, requeue_on_error=True)
    def on_ticket_updated(self, payload):
        self._project(payload)

    @event_handler("tickets", TICKET_DELETED, requeue_on_error=True)
    def on_ticket_deleted(self, payload):
        self._project(payload)

    def _project(self, payload):
        try:
            parse_envelope(payload)
        except EnvelopeError as exc:
            log.error("tracker projector: dropping malformed event %r: %s", payload.get("event_id"), exc.messages)
            return
        # Retry a short Redis outage here, with back-off, up to a bound; past it, raise: the handlers
        # are requeue_on_error, so the event goes back to the queue (not acked away) and is retried
        # until Redis returns. A pause first, so that a long outage does not loop hot.
        deadline = time.monotonic() + self.config.get("PROJECTOR_RETRY_SECONDS", 300)
        delay = 0.1
        while True:
            try:
                self.view.apply_event(payload)
                return
            except redis.RedisError as exc:
                if time.monotonic() > deadline:
                    log.error("tracker projector: Redis still unavailable, handing %s back to the queue: %r",
                              payload["event_id"], exc)
                    eventlet.sleep(self.config.get("PROJECTOR_REQUEUE_DELAY", 1.0))
                    raise
                log.warning("tracker projector: Redis unavailable (%r), retrying in %.1fs", exc, delay)
                eventlet.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception as exc:  # not an outage: retrying cannot cure it, so park it for an operator
                log.exception("tracker projector: cannot project %s; moved to %s", payload["event_id"], DEAD_LETTER_QUEUE)
                dead_letter(self.config["AMQP_URI"], "tracker_projector", payload, exc)
                return

    @timer(interval=1.0)
    def backfill_once(self):
        """On a read model never filled (new install, flushed Redis): copy every live ticket once.

        Not eager: the first tick comes after the event queues exist, so nothing created meanwhile
        is missed; retried every second until it succeeds (the tickets service may start later).
        """
        if self.view.backfilled():
            return
        count = run_backfill(self.view, self.config)
        log.info("tracker projector: backfilled %d tickets", count)


def nameko_config(overrides=None):
    config = gateway_config.load(overrides)
    return {
        **config,
        "AMQP_URI": config["AMQP_URI"],
        "max_workers": config["PROJECTOR_MAX_WORKERS"],
    }
