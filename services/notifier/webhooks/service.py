"""The webhooks nameko service (`python -m services.notifier webhooks`): its own durable queues for every
event it delivers, the admins' RPCs (the gateway's /api/webhooks), and the timer that sends what is due.

Nothing here waits on a receiver while holding a worker: a handler records the deliveries an event owes
(a short transaction) and hands the claimed ones to a green pool of WEBHOOK_CONCURRENCY senders; what the
pool has no room for, failing endpoints' deliveries and retries are picked up by the timer from the table.
Its queues are not the notifier's, so a slow or dead receiver never holds up an e-mail.
"""
import functools
import logging
import time

import eventlet
from nameko.dependency_providers import Config
from nameko.events import SERVICE_POOL, event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import Timer
from nameko_sqlalchemy import Database

from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.contracts.webhook_schemas import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER
from shared.platform.consumers import EventPolicy
from shared.platform.runtime import Pingable

from ..models import Base
from . import store
from .config import WebhookSettings
from .guard import Guard
from .signing import signature_header
from .transport import Transport

log = logging.getLogger(__name__)
EXPECTED = (NotFound, Conflict, ValidationError)
SHOW_WAIT_SECONDS = 3.0


class Sender:
    """What a worker delivers with: the settings, the transport, and the attempts in flight (green
    threads the container owns: stopping the service ends them, their claims' leases run out)."""

    def __init__(self, settings, transport, spawn):
        self.settings, self.transport, self._spawn = settings, transport, spawn
        self.in_flight = 0

    def free(self):
        return max(self.settings.concurrency - self.in_flight, 0)

    def spawn(self, send, claim):
        self.in_flight += 1  # green threads: no lock needed between two switches

        def run():
            try:
                send(claim)
            finally:
                self.in_flight -= 1

        return self._spawn(run)


class SenderProvider(DependencyProvider):
    """Built once at start from config["WEBHOOKS"]; tests may put `WEBHOOK_TRANSPORT` (a Transport with
    an injected resolver and connector) in the config."""

    def setup(self):
        config = self.container.config
        self.settings = WebhookSettings.from_config(config).check()
        transport = config.get("WEBHOOK_TRANSPORT") or Transport(
            Guard(allow_private=self.settings.allow_private), connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout, total_timeout=self.settings.total_timeout,
            response_cap=self.settings.response_cap_bytes, excerpt_chars=self.settings.excerpt_chars)
        self.sender = Sender(self.settings, transport, self.container.spawn_managed_thread)

    def get_dependency(self, worker_ctx):
        return self.sender


class PollTimer(Timer):
    """A timer whose interval is a setting (WEBHOOKS.poll_interval), so tests can make it short."""

    def __init__(self, **kwargs):
        super().__init__(interval=WebhookSettings.poll_interval, **kwargs)

    def setup(self):
        self.interval = WebhookSettings.from_config(self.container.config).poll_interval


def _delivered(source, event_type):
    # Durable queues of this service's own (reliable_delivery), shared by its instances (SERVICE_POOL);
    # a transient failure puts the event back (shared.platform.consumers).
    @event_handler(source, event_type, handler_type=SERVICE_POOL, reliable_delivery=True, requeue_on_error=True)
    def handle(self, payload):
        self.policy.run(self._fan_out, payload)

    handle.__doc__ = f"{event_type}: a delivery to each of the client's endpoints that want it."
    return handle


class WebhooksService(Pingable):
    name = "webhooks"

    db = Database(Base, engine_options={"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20})
    sender = SenderProvider()
    config = Config()
    policy = EventPolicy()

    # One handler, so one queue, per delivered event (shared.contracts.webhook_schemas.DELIVERED_EVENTS;
    # the unit tests hold the two lists equal).
    on_ticket_created = _delivered("tickets", "ticket.created")
    on_ticket_updated = _delivered("tickets", "ticket.updated")
    on_ticket_deleted = _delivered("tickets", "ticket.deleted")
    on_ticket_message_added = _delivered("tickets", "ticket.message_added")
    on_ticket_rated = _delivered("tickets", "ticket.rated")
    on_ticket_sla_warning = _delivered("tickets", "ticket.sla_warning")
    on_ticket_sla_breached = _delivered("tickets", "ticket.sla_breached")
    on_chat_conversation_started = _delivered("chat", "chat.conversation_started")
    on_chat_message_posted = _delivered("chat", "chat.message_posted")
    on_chat_conversation_assigned = _delivered("chat", "chat.conversation_assigned")
    on_chat_conversation_closed = _delivered("chat", "chat.conversation_closed")
    on_chat_conversation_missed = _delivered("chat", "chat.conversation_missed")

    # -- the admins' RPCs (gateway api/webhooks.py; the gateway checked the caller is an admin) --

    @rpc
    def list_webhooks(self, client_id):
        with self._session() as session:
            return store.list_endpoints(session, client_id)

    @rpc(expected_exceptions=EXPECTED)
    def create_webhook(self, client_id, data, actor=None):
        """A new endpoint; the answer is the only one that carries its secret."""
        with self._session() as session:
            return store.create_endpoint(session, client_id, data, actor, self.sender.settings)

    @rpc(expected_exceptions=EXPECTED)
    def update_webhook(self, client_id, webhook_id, data):
        with self._session() as session:
            return store.update_endpoint(session, client_id, webhook_id, data, self.sender.settings)

    @rpc(expected_exceptions=EXPECTED)
    def delete_webhook(self, client_id, webhook_id):
        with self._session() as session:
            store.delete_endpoint(session, client_id, webhook_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_webhook_deliveries(self, client_id, webhook_id):
        with self._session() as session:
            return store.list_deliveries(session, client_id, webhook_id)

    @rpc(expected_exceptions=EXPECTED)
    def send_test(self, client_id, webhook_id, actor=None):
        """A `webhook.test` delivery, sent now; returns it after the attempt, or still 'sending' when the
        receiver takes longer than SHOW_WAIT_SECONDS to answer (the log shows the outcome later)."""
        with self._session() as session:
            claims = store.record_test(session, client_id, webhook_id, actor, self.sender.settings)
        return self._send_and_show(claims)

    @rpc(expected_exceptions=EXPECTED)
    def redeliver(self, client_id, webhook_id, delivery_id):
        """"Send again": the same delivery (id, body) now, with a fresh retry window."""
        with self._session() as session:
            claims = store.redeliver(session, client_id, webhook_id, delivery_id, self.sender.settings)
        return self._send_and_show(claims)

    def _send_and_show(self, claims):
        # An admin is waiting: the outcome if the receiver answers within SHOW_WAIT_SECONDS (below the
        # gateway's RPC timeout), else the delivery as it stands, 'sending', while the attempt goes on.
        for claim in claims:
            thread = self.sender.spawn(self._send, claim)
            with eventlet.Timeout(SHOW_WAIT_SECONDS, False):
                thread.wait()
        with self._session() as session:
            return store.delivery(session, claims[0].delivery_id) if claims else None

    # -- delivering --

    def _fan_out(self, payload):
        with self._session() as session:
            claims = store.record_event(session, payload, self.sender.free(), self.sender.settings)
        for claim in claims:
            self.sender.spawn(self._send, claim)

    @PollTimer.decorator
    def send_due(self):
        """Retries whose back-off ended, deliveries the pool had no room for, attempts lost with a process."""
        while True:
            free = self.sender.free()
            if free <= 0:
                return
            with self._session() as session:
                claims = store.claim_due(session, self.sender.settings, free)
            for claim in claims:
                self.sender.spawn(self._send, claim)
            if len(claims) < free:
                return

    def _send(self, claim):
        """One attempt; never raises (the claim's lease lets the timer redo whatever is not recorded).

        It runs in a thread of its own that outlives the worker which spawned it, so its sessions are not
        the worker's: the worker's teardown closes every session it handed out, and closing one whose
        connection this thread is using (psycopg2 is green: a query yields holding the connection's lock)
        blocked the whole process on that lock."""
        try:
            deliver(self._own_session, self.sender.transport, self.sender.settings, claim)
        except Exception:
            log.exception("webhooks: delivery %s attempt %s: outcome not recorded", claim.delivery_id, claim.number)

    @property
    def _session(self):
        return functools.partial(self.db.get_session, close_on_exit=True)

    @property
    def _own_session(self):
        # From the same sessionmaker, but not registered with this worker's DatabaseWrapper (see _send).
        return functools.partial(self.db.Session, close_on_exit=True)


def deliver(session_scope, transport, settings, claim, now=None, clock=time.time):
    """Sign and POST one claimed delivery, then record the attempt; returns (status, Result).
    `session_scope()` gives a session that commits on exit; `now`/`clock` are for tests driving time."""
    body = claim.body.encode()
    started_at = now or store.utcnow()
    headers = {SIGNATURE_HEADER: signature_header(claim.secret, now.timestamp() if now else clock(), body),
               DELIVERY_HEADER: str(claim.delivery_id), EVENT_HEADER: claim.event_type}
    result = transport.post(claim.url, body, headers)
    with session_scope() as session:
        status = store.record_outcome(session, claim, result, started_at, settings, now=now)
    if not result.ok:
        log.warning("webhooks: delivery %s attempt %s to %s failed (%s): %s", claim.delivery_id, claim.number,
                    claim.url, status or "superseded", result.error)
    return status, result
