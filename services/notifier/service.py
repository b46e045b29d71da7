"""The notifier nameko service: thin event handlers, RPC reads and the retry timer."""
import functools
import logging

import eventlet
from nameko.dependency_providers import Config
from nameko.events import SERVICE_POOL, event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import Timer
from nameko_sqlalchemy import Database

from shared.contracts.enums import CHAT_CONVERSATION_MISSED, TICKET_CREATED, TICKET_UPDATED
from shared.contracts.exceptions import Conflict, NotFound
from shared.platform.consumers import EventPolicy
from shared.platform.observability import record_email_delivery
from shared.platform.runtime import Pingable

from . import coalescing, deliveries, emails, transcripts
from .backends import build_backend
from .config import Settings
from .models import DEAD, Base

log = logging.getLogger(__name__)
EXPECTED = (NotFound, Conflict)


class Mail:
    """What a worker sends with: the settings and the configured backend."""

    def __init__(self, settings, backend):
        self.settings, self.backend = settings, backend


class MailProvider(DependencyProvider):
    """Builds the backend once, at start, from config["NOTIFIER"] (bad settings stop the start)."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config).check()
        self.mail = Mail(self.settings, build_backend(self.settings))

    def get_dependency(self, worker_ctx):
        return self.mail

    def stop(self):
        close = getattr(self.mail.backend, "close", None)  # SMTP: its idle connections
        if close:
            close()


class RetryTimer(Timer):
    """A timer whose interval is a setting (NOTIFIER.retry_interval), so tests can make it short."""

    def __init__(self, **kwargs):
        super().__init__(interval=Settings.retry_interval, **kwargs)

    def setup(self):
        self.interval = Settings.from_config(self.container.config).retry_interval


def ticket_event_handler(event_type):
    # Durable queue that outlives the service (reliable_delivery), shared by instances (SERVICE_POOL).
    # requeue_on_error: a handler raises only for a failure that may pass (consumers.py's policy), and
    # then the event must go back to the queue, not be acked away.
    return event_handler(
        "tickets", event_type, handler_type=SERVICE_POOL, reliable_delivery=True, requeue_on_error=True
    )


class NotifierService(Pingable):
    name = "notifier"

    # As many pooled connections as workers: no connection opened and closed per event at full load.
    db = Database(Base, engine_options={"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20})
    mail = MailProvider()
    config = Config()
    policy = EventPolicy()

    @ticket_event_handler(TICKET_CREATED)
    def on_ticket_created(self, payload):
        self._notify(payload)

    @ticket_event_handler(TICKET_UPDATED)
    def on_ticket_updated(self, payload):
        self._notify(payload)

    # Durable and shared like the ticket queues; one e-mail per event (the delivery log's key).
    @event_handler("chat", CHAT_CONVERSATION_MISSED, handler_type=SERVICE_POOL, reliable_delivery=True,
                   requeue_on_error=True)
    def on_conversation_missed(self, payload):
        """The customer left a chat nobody answered: e-mail them its transcript and a way back."""
        self.policy.run(self._send_transcript, payload)

    def _send_transcript(self, payload):
        plan = transcripts.plan(payload)
        with self._session() as session:
            attempt = deliveries.record(session, plan, self.mail.settings)
        if attempt is not None:
            self._attempt(attempt)

    @rpc(expected_exceptions=EXPECTED)
    def get_deliveries(self, ticket_ref):
        """The emails owed for a ticket (by number or id) and what became of each, oldest first."""
        with self.db.get_session() as session:
            return deliveries.list_for_ticket(session, ticket_ref)

    @rpc(expected_exceptions=EXPECTED)
    def send_tracking_link(self, request_id, ticket, email):
        """E-mail a ticket's signed tracker link to its customer (the gateway checked the pair);
        one email per `request_id`, retried like every delivery. Returns the delivery's status."""
        plan = emails.plan_tracking_link(request_id, ticket, email)
        with self._session() as session:
            attempt = deliveries.record(session, plan, self.mail.settings)
        if attempt is not None:
            self._attempt(attempt)
        return "recorded"

    @rpc
    def delivery_stats(self):
        """Deliveries per status: an operations metric (watch 'dead' and 'failed')."""
        with self.db.get_session() as session:
            return deliveries.counts(session)

    @rpc(expected_exceptions=EXPECTED)
    def requeue_delivery(self, delivery_id):
        """Send a failed or dead delivery again, once its cause is fixed."""
        with self.db.get_session() as session:
            return deliveries.requeue(session, delivery_id)

    @RetryTimer.decorator
    def retry_due(self):
        """Attempt what is due: updates whose coalescing window ended, back-offs that ended, and
        attempts lost with a crashed process."""
        settings = self.mail.settings
        with self._session() as session:
            if deliveries.expire_abandoned(session, settings):
                log.error("notifier: deliveries abandoned mid-send on their last attempt marked dead")
            coalescing.forget_old_events(session)
        while True:
            # The pending rows go and their deliveries are recorded in one transaction.
            with self._session() as session:
                taken, plans = coalescing.claim_due(session, settings.retry_batch)
                attempts = [deliveries.record(session, plan, settings) for plan in plans]
            self._attempt_all([attempt for attempt in attempts if attempt is not None])
            if taken < settings.retry_batch:
                break
        while True:
            with self._session() as session:
                claimed = deliveries.claim_due(session, settings, settings.retry_batch)
            self._attempt_all(claimed)
            if len(claimed) < settings.retry_batch:
                return

    def _attempt_all(self, attempts):
        pool = eventlet.GreenPool(self.mail.settings.retry_concurrency)
        for attempt in attempts:
            pool.spawn_n(self._attempt, attempt)
        pool.waitall()

    def _notify(self, payload):
        return self.policy.run(self._record_and_send, payload)

    def _record_and_send(self, payload):
        plan = emails.plan(payload)
        if plan is None:
            return
        with self._session() as session:
            attempt = coalescing.record(session, plan, self.mail.settings)
        if attempt is not None:
            self._attempt(attempt)

    def _attempt(self, attempt):
        """Never raises: the delivery is recorded, so whatever happens here the timer can redo."""
        try:
            status = deliveries.attempt_delivery(self._session, self.mail.backend, self.mail.settings, attempt)
        except Exception:
            log.exception("notifier: delivery %s attempt %s: outcome not recorded", attempt.delivery_id, attempt.number)
            return
        record_email_delivery(status, attempt.delivery_id)
        if status == DEAD:
            log.error("notifier: delivery %s is dead after %s attempts", attempt.delivery_id, attempt.number)

    @property
    def _session(self):
        # Sessions close when their block ends: the retry pool opens many per worker.
        return functools.partial(self.db.get_session, close_on_exit=True)

