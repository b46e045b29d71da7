"""The tracker projector: a nameko service that keeps the public tracker's Redis read model
current from ticket.* events, and fills it once from the tickets service on a new install."""
import logging

import redis
from nameko.dependency_providers import Config
from nameko.events import event_handler
from nameko.extensions import DependencyProvider

from services.tracker_gateway.projector.backfill import run_backfill
from services.tracker_gateway.projector.read_model import TrackerView
from shared.contracts.enums import TICKET_CREATED, TICKET_DELETED, TICKET_RATED, TICKET_UPDATED
from shared.contracts.events import parse_envelope
from shared.platform.consumers import EventPolicy
from shared.platform.runtime import Pingable
from shared.platform.timers import BackoffTimer

log = logging.getLogger(__name__)

# A read model lost later (Redis flushed) is noticed within this long.
BACKFILL_CHECK_MAX_SECONDS = 30.0


class BackfillTimer(BackoffTimer):
    def bounds(self, config):
        return 1.0, BACKFILL_CHECK_MAX_SECONDS


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
    policy = EventPolicy()

    # requeue_on_error: a handler raises only for a failure that may pass (Redis away: consumers.py's
    # policy), and then the event must go back to the queue, not be acked away.
    @event_handler("tickets", TICKET_CREATED, requeue_on_error=True)
    def on_ticket_created(self, payload):
        return self.policy.run(self._project, payload)

    @event_handler("tickets", TICKET_UPDATED, requeue_on_error=True)
    def on_ticket_updated(self, payload):
        return self.policy.run(self._project, payload)

    @event_handler("tickets", TICKET_RATED, requeue_on_error=True)
    def on_ticket_rated(self, payload):
        return self.policy.run(self._project, payload)

    @event_handler("tickets", TICKET_DELETED, requeue_on_error=True)
    def on_ticket_deleted(self, payload):
        return self.policy.run(self._project, payload)

    def _project(self, payload):
        parse_envelope(payload)
        self.view.apply_event(payload)

    @BackfillTimer.decorator
    def backfill_once(self):
        """On a read model never filled (new install, flushed Redis): copy every live ticket once.

        Not eager: the first tick comes after the event queues exist, so nothing created meanwhile
        is missed; retried every second until it succeeds (the tickets service may start later).
        Once filled, it looks less and less often (up to BACKFILL_CHECK_MAX_SECONDS): idle costs nothing.
        """
        if self.view.backfilled():
            return False
        count = run_backfill(self.view, self.config)
        log.info("tracker projector: backfilled %d tickets", count)
        return True
