"""The notifier nameko service: thin event handlers, RPC reads and the retry timer."""
import base64
import functools
import logging

import eventlet
from nameko.dependency_providers import Config
from nameko.events import SERVICE_POOL, event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc

from shared.contracts.enums import (
    CHAT_CONVERSATION_MISSED,
    DIRECTORY_CLIENT_CHANGED,
    DIRECTORY_SERVICE,
    TICKET_CREATED,
    TICKET_MESSAGE_ADDED,
    TICKET_SLA_BREACHED,
    TICKET_SLA_WARNING,
    TICKET_UPDATED,
)
from shared.contracts.events import parse_envelope
from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.platform.consumers import EventPolicy
from shared.platform.database import Database
from shared.platform.observability import record_email_delivery
from shared.platform.runtime import Pingable
from shared.platform.timers import BackoffTimer

from . import agent_emails, assignments, coalescing, deliveries, directory, emails, mailthread, sla_emails, sms, transcripts
from .backends import build_backend, build_sms_backend
from .config import Settings
from .inbound import intake
from .models import DEAD, Base

log = logging.getLogger(__name__)
EXPECTED = (NotFound, Conflict)
# A call to the tickets service from a handler or the intake waits at most this long (nameko's
# RpcProxy has no timeout of its own): a mail then gets "try again later", an event its retry.
TICKETS_CALL_SECONDS = 15.0
QUOTES_CALL_SECONDS = 5.0


class Mail:
    """What a worker sends with: the settings and the configured backends (e-mail, SMS)."""

    def __init__(self, settings, backend, sms_backend=None):
        self.settings, self.backend, self.sms_backend = settings, backend, sms_backend

    def backend_for(self, kind):
        return self.sms_backend if kind in sms.KINDS else self.backend


class MailProvider(DependencyProvider):
    """Builds the backend once, at start, from config["NOTIFIER"] (bad settings stop the start)."""

    def setup(self):
        self.settings = Settings.from_config(self.container.config).check()
        self.mail = Mail(self.settings, build_backend(self.settings), build_sms_backend(self.settings))

    def get_dependency(self, worker_ctx):
        return self.mail

    def stop(self):
        close = getattr(self.mail.backend, "close", None)  # SMTP: its idle connections
        if close:
            close()


# At rest the retry timer backs off to this many times its interval (8 s by default): what it sends is
# due at a time set in advance (a coalescing window, a retry's back-off), so a few seconds matter little.
RETRY_BACKOFF_FACTOR = 8


class RetryTimer(BackoffTimer):
    """Every NOTIFIER.retry_interval (a setting, so tests can make it short) while there is work, backing
    off to RETRY_BACKOFF_FACTOR times that when there is none; a delivery recorded or attempted wakes it."""

    def bounds(self, config):
        interval = Settings.from_config(config).retry_interval
        return interval, interval * RETRY_BACKOFF_FACTOR


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
    db = Database(Base, engine_options={"pool_size": 10, "max_overflow": 20})
    mail = MailProvider()
    config = Config()
    policy = EventPolicy()
    tickets = RpcProxy("tickets")

    @ticket_event_handler(TICKET_CREATED)
    def on_ticket_created(self, payload):
        self._notify(payload)

    @ticket_event_handler(TICKET_UPDATED)
    def on_ticket_updated(self, payload):
        self._notify(payload)

    @ticket_event_handler(TICKET_MESSAGE_ADDED)
    def on_message_added(self, payload):
        self.policy.run(self._message_added, payload)

    @rpc
    def receive_email(self, raw_b64, recipients, source, envelope_sender=None):
        """One inbound email from an intake (the SMTP receiver, the gateway's SendGrid webhook): the
        guards, the matching and the hand-off to its ticket. Returns the outcome (status, reason,
        ticket_number, matched_by, smtp_code)."""
        raw = base64.b64decode(raw_b64 or "", validate=False)
        source = source if source in intake.SOURCES else "smtp"
        outcome = intake.receive(self._session, _Timed(self.tickets, TICKETS_CALL_SECONDS), raw, recipients or [],
                                 source, self.mail.settings, envelope_sender=envelope_sender)
        log.info("notifier: inbound mail %s from %s: %s %s", outcome.inbound_id, source, outcome.status,
                 outcome.ticket_number or outcome.reason or "")
        return outcome.as_dict()

    @rpc
    def list_inbound(self, client_id, status=None, limit=50):
        """The client's newest inbound mails and what became of each, for its admins (metadata, and
        `has_raw` for the unparseable and failed ones whose bytes were kept: nothing sent is lost)."""
        with self.db.get_session() as session:
            return intake.list_inbound(session, client_id, status, limit)

    @rpc(expected_exceptions=EXPECTED)
    def get_inbound_raw(self, client_id, inbound_id):
        """The raw bytes (base64) kept of one of the client's inbound mails; NotFound otherwise."""
        with self.db.get_session() as session:
            return intake.get_inbound_raw(session, client_id, inbound_id)
    @ticket_event_handler(TICKET_SLA_WARNING)
    def on_sla_warning(self, payload):
        self.policy.run(self._alert_agents, payload)

    @ticket_event_handler(TICKET_SLA_BREACHED)
    def on_sla_breached(self, payload):
        self.policy.run(self._alert_agents, payload)

    # The gateway's directory (contract B): each event is a full snapshot of one client and its agents.
    @event_handler(DIRECTORY_SERVICE, DIRECTORY_CLIENT_CHANGED, handler_type=SERVICE_POOL, reliable_delivery=True,
                   requeue_on_error=True)
    def on_directory_client_changed(self, payload):
        self.policy.run(self._apply_directory, payload)

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
        return self._record_requested(emails.plan_tracking_link(request_id, ticket, email))

    @rpc(expected_exceptions=EXPECTED + (ValidationError,))
    def send_agent_link(self, request_id, kind, recipient, context):
        """E-mail an agent a single-use link the gateway made: kind "invitation" (join a team, set a
        password) or "password_reset"; context {agent_name, client_name, link_url, expires_at (ISO),
        invited_by?}. One email per `request_id`, retried like every delivery."""
        return self._record_requested(agent_emails.plan(request_id, kind, recipient, context))

    def _record_requested(self, plan):
        """An email asked for by RPC: recorded once per request id, sent now, retried by the timer."""
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
        attempts lost with a crashed process. Returns how many it took (RetryTimer backs off at none)."""
        settings = self.mail.settings
        done = 0
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
            done += taken
            if taken < settings.retry_batch:
                break
        while True:
            with self._session() as session:
                claimed = deliveries.claim_due(session, settings, settings.retry_batch)
            self._attempt_all(claimed)
            done += len(claimed)
            if len(claimed) < settings.retry_batch:
                return done

    def _apply_directory(self, payload):
        envelope = parse_envelope(payload)
        with self._session() as session:
            directory.apply_snapshot(session, envelope["data"], envelope["occurred_at"])

    def _alert_agents(self, payload):
        """An SLA warning or breach: e-mail the assignee, or the client's admins when nobody has the ticket."""
        with self._session() as session:
            attempts = [deliveries.record(session, plan, self.mail.settings) for plan in sla_emails.plans(session, payload)]
        self._attempt_all([attempt for attempt in attempts if attempt is not None])

    def _attempt_all(self, attempts):
        pool = eventlet.GreenPool(self.mail.settings.retry_concurrency)
        for attempt in attempts:
            pool.spawn_n(self._attempt, attempt)
        pool.waitall()

    def _notify(self, payload):
        return self.policy.run(self._record_and_send, payload)

    def _record_and_send(self, payload):
        plan = emails.plan(payload)
        ticket = payload["data"].get("ticket") if plan is not None else None
        text = sms.plan(plan, ticket, self.mail.settings)
        with self._session() as session:
            _remember_thread(session, payload)
            attempt = coalescing.record(session, plan, self.mail.settings) if plan is not None else None
            if text is not None and sms.client_wants_sms(session, ticket.get("client_id")):
                text = deliveries.record(session, text, self.mail.settings)
            else:
                text = None
        if plan is not None:
            RetryTimer.wake_all()  # a coalesced update is due soon: the timer looks at the short interval
        for each in (attempt, text):
            if each is not None:
                self._attempt(each)
        self._tell_assignee(payload)

    def _tell_assignee(self, payload):
        """The assignee's e-mail, when someone else assigned the ticket to them (assignments.py)."""
        found = assignments.assignee_of(payload)
        if found is None:
            return
        envelope, ticket, assignee = found
        with self._session() as session:
            agents = directory.agents_to_notify(session, ticket["client_id"], "assignments", assignee=assignee)
            if not agents:
                return
            actor = directory.agent_by_email(session, envelope["data"].get("actor"))
            actor_name = actor["name"] if actor else envelope["data"].get("actor")
            attempt = deliveries.record(session, assignments.plan(envelope, ticket, agents[0], actor_name),
                                        self.mail.settings)
        if attempt is not None:
            self._attempt(attempt)

    def _message_added(self, payload):
        plan = emails.plan_message(payload)
        if plan is None:  # an internal note, a system entry: nothing leaves
            with self._session() as session:
                _remember_thread(session, payload)
            return
        if plan.kind == emails.REPLY:
            plans = [emails.with_quoted(plan, self._earlier_messages(plan))]
        else:
            with self._session() as session:
                agents = directory.agents_to_notify(
                    session, plan.context["client_id"], "customer_messages", assignee=plan.context["assigned_to"])
            plans = emails.notice_plans(plan, agents)
        with self._session() as session:
            _remember_thread(session, payload)
            attempts = [deliveries.record(session, each, self.mail.settings) for each in plans]
        self._attempt_all([attempt for attempt in attempts if attempt is not None])
        if plan.kind == emails.REPLY and attempts[0] is not None:
            self._stamp_reply(payload, plan)

    def _stamp_reply(self, payload, plan):
        """Tell tickets the Message-ID the reply went out with (shown on the message; matched by
        tickets' find_ticket_for_email too). Our delivery log already matches it: a failure only logs."""
        message_id = ((payload.get("data") or {}).get("message") or {}).get("id")
        if not isinstance(message_id, int):
            return
        sent_as = emails.message_id_for(plan.event_id, plan.kind, self.mail.settings.sender_email)
        try:
            with eventlet.Timeout(QUOTES_CALL_SECONDS):
                self.tickets.set_email_message_id(message_id, sent_as)
        except (Exception, eventlet.Timeout) as exc:
            log.warning("notifier: Message-ID of reply %s not recorded on the ticket: %r", message_id, exc)

    def _earlier_messages(self, plan):
        """The thread's public messages, to quote under a reply; none if tickets does not answer soon
        (a reply without its quotes beats a reply held back)."""
        try:
            with eventlet.Timeout(QUOTES_CALL_SECONDS):
                return self.tickets.list_messages(str(plan.ticket_id), include_internal=False)
        except (Exception, eventlet.Timeout) as exc:
            log.warning("notifier: earlier messages of %s not quoted: %r", plan.ticket_number, exc)
            return []

    def _attempt(self, attempt):
        """Never raises: the delivery is recorded, so whatever happens here the timer can redo."""
        RetryTimer.wake_all()  # a failure schedules a retry: the timer looks at the short interval
        try:
            backend = self.mail.backend_for(attempt.job.kind if attempt.job else None)
            status = deliveries.attempt_delivery(self._session, backend, self.mail.settings, attempt)
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



def _remember_thread(session, payload):
    ticket = ((payload or {}).get("data") or {}).get("ticket") if isinstance(payload, dict) else None
    if isinstance(ticket, dict):
        mailthread.remember(session, ticket)


class _Timed:
    """The tickets RPC proxy with a bound on each call (eventlet.Timeout raises a plain exception)."""

    def __init__(self, proxy, seconds):
        self.proxy, self.seconds = proxy, seconds

    def __getattr__(self, method):
        def call(*args, **kwargs):
            try:
                with eventlet.Timeout(self.seconds):
                    return getattr(self.proxy, method)(*args, **kwargs)
            except eventlet.Timeout:
                raise TimeoutError(f"tickets.{method}: no answer within {self.seconds:g}s") from None
        return call
