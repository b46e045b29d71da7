"""The chat nameko service: thin RPC entrypoints over `operations`, the ticket.created handler
and the outbox relay.

Agent-side methods take a conversation id and, from the gateway, the agent's `client_id` (another
client's conversation is NotFound). Customer-side methods (`*_by_token`, `resume_conversation`)
take the conversation token `start_conversation` returned and, from the gateway, the client whose
page the customer is on (a token of another client's conversation is NotFound there).
"""
import logging

from nameko.events import SERVICE_POOL, event_handler
from nameko.rpc import rpc
from nameko.timer import Timer

from shared.contracts.enums import TICKET_CREATED
from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.platform.consumers import EventPolicy
from shared.platform.database import Database
from shared.platform.outbox import OutboxPublisher
from shared.platform.runtime import Pingable

from . import domain, operations
from .models import Base, OutboxEvent

log = logging.getLogger(__name__)
EXPECTED = (ValidationError, NotFound, Conflict)
# What on_ticket_created did besides operations.link_ticket's outcomes.
UNRELATED = "unrelated"


def _page(before, after, limit):
    return {key: value for key, value in (("before", before), ("after", after), ("limit", limit)) if value is not None}


class UnansweredTimer(Timer):
    """Checks for chats nobody answered every UNANSWERED_CHECK_SECONDS (a setting, so tests can
    make it short)."""

    def __init__(self, **kwargs):
        super().__init__(interval=60, **kwargs)

    def setup(self):
        self.interval = self.container.config.get("UNANSWERED_CHECK_SECONDS", 60)


class ChatService(Pingable, OutboxPublisher):
    name = "chat"

    # Objects stay readable after commit: the fast path publishes them without reloading.
    db = Database(Base, session_options={"expire_on_commit": False})
    outbox_model = OutboxEvent
    policy = EventPolicy()

    # ------------------------------------------------------------ customer side

    @rpc(expected_exceptions=EXPECTED)
    def start_conversation(self, data):
        with self.db.get_session() as session:
            token, conversation, events = operations.start_conversation(session, data)
            self._commit_and_publish(session, events)
            return {"token": token, **operations.thread(session, conversation, {}, "customer")}

    @rpc(expected_exceptions=EXPECTED)
    def resume_conversation(self, token, before=None, after=None, limit=None, client_id=None):
        with self.db.get_session() as session:
            conversation = operations.get_by_token(session, token, client_id=client_id)
            return operations.thread(session, conversation, _page(before, after, limit), "customer")

    @rpc(expected_exceptions=EXPECTED)
    def post_message_by_token(self, token, body, client_id=None):
        with self.db.get_session() as session:
            message, events = operations.post_message_by_token(session, token, body, client_id=client_id)
            self._commit_and_publish(session, events)
        return message

    @rpc(expected_exceptions=EXPECTED)
    def mark_read_by_token(self, token, up_to, client_id=None):
        with self.db.get_session() as session:
            conversation = operations.mark_read_by_token(session, token, up_to, client_id=client_id)
            session.commit()
            return operations.customer_view(session, conversation)

    @rpc(expected_exceptions=EXPECTED)
    def close_conversation_by_token(self, token, client_id=None):
        with self.db.get_session() as session:
            conversation, events = operations.close_conversation_by_token(session, token, client_id=client_id)
            self._commit_and_publish(session, events)
            return operations.customer_view(session, conversation)

    # ------------------------------------------------------------ agent side

    @rpc(expected_exceptions=EXPECTED)
    def list_conversations(self, filters):
        with self.db.get_session() as session:
            return operations.list_conversations(session, filters)

    @rpc(expected_exceptions=EXPECTED)
    def get_conversation(self, conversation_id, client_id=None, before=None, after=None, limit=None):
        with self.db.get_session() as session:
            conversation = operations.get_conversation_row(session, conversation_id, client_id)
            return operations.thread(session, conversation, _page(before, after, limit), "agent")

    @rpc(expected_exceptions=EXPECTED)
    def post_message(self, conversation_id, data, client_id=None):
        with self.db.get_session() as session:
            message, events = operations.post_message(session, conversation_id, data, client_id)
            self._commit_and_publish(session, events)
        return message

    @rpc(expected_exceptions=EXPECTED)
    def mark_read(self, conversation_id, up_to, client_id=None):
        with self.db.get_session() as session:
            conversation = operations.mark_read(session, conversation_id, up_to, client_id)
            session.commit()
            return operations.agent_view(session, conversation)

    @rpc(expected_exceptions=EXPECTED)
    def assign(self, conversation_id, agent, actor=None, client_id=None):
        with self.db.get_session() as session:
            conversation, events = operations.assign(session, conversation_id, agent, actor, client_id)
            self._commit_and_publish(session, events)
            return operations.agent_view(session, conversation)

    @rpc(expected_exceptions=EXPECTED)
    def close_conversation(self, conversation_id, actor=None, client_id=None):
        with self.db.get_session() as session:
            conversation, events = operations.close_conversation(session, conversation_id, actor, client_id)
            self._commit_and_publish(session, events)
            return operations.agent_view(session, conversation)

    @rpc(expected_exceptions=EXPECTED)
    def mark_handled(self, conversation_id, actor=None, client_id=None):
        """A missed conversation an agent has dealt with: it leaves the "Missed" list."""
        with self.db.get_session() as session:
            conversation = operations.mark_handled(session, conversation_id, actor, client_id)
            session.commit()
            return operations.agent_view(session, conversation)

    @rpc(expected_exceptions=EXPECTED)
    def ticket_draft(self, conversation_id, client_id=None):
        """The "Create Ticket" dialog's pre-filled fields for this conversation."""
        with self.db.get_session() as session:
            return operations.ticket_draft(session, conversation_id, client_id)

    @UnansweredTimer.decorator
    def close_unanswered(self):
        """Open chats no agent answered and quiet for UNANSWERED_CLOSE_SECONDS are closed as missed
        (their customers get the transcript): the customer left without clicking "End chat"."""
        quiet = self.config.get("UNANSWERED_CLOSE_SECONDS", 1800)
        if not quiet:
            return 0
        with self.db.get_session() as session:
            events = operations.close_unanswered(session, quiet)
            self._commit_and_publish(session, events)
        return len(events)

    # ------------------------------------------------------------ events in and out

    # Durable queue that outlives the service (reliable_delivery), shared by instances (SERVICE_POOL).
    # requeue_on_error: the handler raises only for a failure that may pass (consumers.py's policy),
    # and then the event must go back to the queue, not be acked away.
    @event_handler("tickets", TICKET_CREATED, handler_type=SERVICE_POOL, reliable_delivery=True, requeue_on_error=True)
    def on_ticket_created(self, payload):
        """Link a ticket made from a conversation; returns what happened (for logs and tests)."""
        return self.policy.run(self._link_ticket, payload)

    def _link_ticket(self, payload):
        link = domain.ticket_link(payload)
        if link is None:
            return UNRELATED
        with self.db.get_session() as session:
            outcome, events = operations.link_ticket(session, link)
            self._commit_and_publish(session, events)
        if outcome in (operations.UNKNOWN_CONVERSATION, operations.OTHER_CLIENT):
            log.warning(
                "chat: %s names conversation %s: %s, not linked",
                link["ticket_number"], link["conversation_id"], outcome.replace("_", " "),
            )
        return outcome

