"""The tickets nameko service: thin RPC entrypoints over `operations`; events leave through the outbox."""
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy.exc import IntegrityError

from shared.contracts.exceptions import Conflict, NotFound, ValidationError
from shared.platform import outbox
from shared.platform.database import Database
from shared.platform.outbox import OutboxPublisher
from shared.platform.runtime import Pingable

from . import bulk, conversation, operations, queues, ratings, reports, sla_operations
from .config import sla_tick_seconds
from .models import Base, OutboxEvent
from .schemas import dump_ticket

EXPECTED = (ValidationError, NotFound, Conflict)


class TicketsService(Pingable, OutboxPublisher):
    name = "tickets"

    # Objects stay readable after commit: the fast path publishes them without reloading.
    db = Database(Base, session_options={"expire_on_commit": False})
    outbox_model = OutboxEvent

    @rpc(expected_exceptions=EXPECTED)
    def create_ticket(self, data, idempotency_key=None):
        try:
            with self.db.get_session() as session:
                ticket, event = operations.create_ticket(session, data, idempotency_key=idempotency_key)
                self._commit_and_publish(session, [event] if event else [])
        except IntegrityError:
            if idempotency_key is None:
                raise
            # The same key created concurrently: the other create won; answer with its ticket.
            with self.db.get_session() as session:
                ticket, _ = operations.create_ticket(session, data, idempotency_key=idempotency_key)
        return ticket

    @rpc(expected_exceptions=EXPECTED)
    def get_ticket(self, ref, client_id=None):
        with self.db.get_session() as session:
            return dump_ticket(operations.get_ticket(session, ref, client_id))

    @rpc(expected_exceptions=EXPECTED)
    def list_tickets(self, filters):
        with self.db.get_session() as session:
            return operations.list_tickets(session, filters)

    @rpc(expected_exceptions=EXPECTED)
    def update_ticket(self, ref, changes, actor=None, client_id=None):
        with self.db.get_session() as session:
            ticket, diff, event = operations.update_ticket(session, ref, changes, actor, client_id)
            self._commit_and_publish(session, [event] if event else [])
        return {**ticket, "changes": diff}

    @rpc(expected_exceptions=EXPECTED)
    def bulk_update(self, request, actor=None, client_id=None):
        """{tickets | filter, changes | delete} -> {changed, unchanged, failed} (services/tickets/bulk.py)."""
        with self.db.get_session() as session:
            result, events = bulk.bulk_update(session, request, actor, client_id)
            session.commit()
            # The batch may have outlasted the relay's grace: claim its rows rather than race the relay.
            outbox.publish_claimed(session, self.outbox_model, events, self.dispatch)
        return result

    @rpc(expected_exceptions=EXPECTED)
    def queue_counts(self, client_id, agent_email=None, views=()):
        """The sidebar's counts: {"queues": {...}, "views": {id: n}} (services/tickets/queues.py)."""
        with self.db.get_session() as session:
            return queues.queue_counts(session, client_id, agent_email, views)

    @rpc(expected_exceptions=EXPECTED)
    def delete_ticket(self, ref, actor=None, client_id=None):
        with self.db.get_session() as session:
            event = operations.delete_ticket(session, ref, actor, client_id)
            self._commit_and_publish(session, [event])

    @rpc(expected_exceptions=EXPECTED)
    def get_history(self, ref, client_id=None):
        with self.db.get_session() as session:
            return operations.get_history(session, ref, client_id)

    @rpc(expected_exceptions=EXPECTED)
    def add_message(self, ref, message, client_id=None, idempotency_key=None):
        try:
            with self.db.get_session() as session:
                result, events = conversation.add_message(session, ref, message, client_id, idempotency_key)
                self._commit_and_publish(session, events)
        except IntegrityError:
            if idempotency_key is None:
                raise
            # The same key added concurrently: the other call won; answer with its message.
            with self.db.get_session() as session:
                result, _ = conversation.add_message(session, ref, message, client_id, idempotency_key)
        return result

    @rpc(expected_exceptions=EXPECTED)
    def list_messages(self, ref, client_id=None, include_internal=True):
        with self.db.get_session() as session:
            return conversation.list_messages(session, ref, client_id, include_internal)

    @rpc(expected_exceptions=EXPECTED)
    def get_original(self, ref, message_id, client_id=None):
        with self.db.get_session() as session:
            return conversation.get_original(session, ref, message_id, client_id)

    @rpc(expected_exceptions=EXPECTED)
    def get_attachment(self, ref, attachment_id, client_id=None, include_internal=True):
        with self.db.get_session() as session:
            return conversation.get_attachment(session, ref, attachment_id, client_id, include_internal)

    @rpc(expected_exceptions=EXPECTED)
    def set_email_message_id(self, message_id, email_message_id):
        with self.db.get_session() as session:
            message = conversation.set_email_message_id(session, message_id, email_message_id)
            session.commit()
        return message

    @rpc(expected_exceptions=EXPECTED)
    def find_ticket_for_email(self, client_id=None, reply_tokens=(), message_ids=(), number=None, sender=None):
        with self.db.get_session() as session:
            return conversation.find_ticket_for_email(session, client_id, reply_tokens, message_ids, number, sender)

    @rpc(expected_exceptions=EXPECTED)
    def export_tickets(self, after_number=0, limit=200, after_client=""):
        with self.db.get_session() as session:
            return operations.export_tickets(session, after_number, limit, after_client)

    @rpc(expected_exceptions=EXPECTED)
    def rate_ticket(self, data):
        """CSAT: {ticket_id, round, rating, comment?} from a checked rating link -> the ticket
        (services/tickets/ratings.py); Conflict when the link's round is no longer the ticket's."""
        with self.db.get_session() as session:
            ticket, event = ratings.rate(session, data)
            self._commit_and_publish(session, [event] if event else [])
        return ticket

    @rpc(expected_exceptions=EXPECTED)
    def rating_state(self, ticket_id, round):
        """What a rating link's page shows: the ticket's number and this round's rating and comment."""
        with self.db.get_session() as session:
            return ratings.rating_state(session, ticket_id, round)

    @rpc(expected_exceptions=EXPECTED)
    def list_ratings(self, ref, client_id=None):
        """Every rating a ticket was given, oldest first."""
        with self.db.get_session() as session:
            ticket = operations.get_ticket(session, ref, client_id)
            return ratings.list_ratings(session, ticket.id)

    @rpc(expected_exceptions=EXPECTED)
    def get_sla(self, client_id):
        with self.db.get_session() as session:
            return sla_operations.get_sla(session, client_id)

    @rpc(expected_exceptions=EXPECTED)
    def put_sla(self, client_id, policy, actor=None):
        with self.db.get_session() as session:
            result = sla_operations.put_sla(session, client_id, policy, actor)
            session.commit()
        return result

    @rpc(expected_exceptions=EXPECTED)
    def report(self, name, query, client_id):
        """One report of the client's tickets: volume, response-times, sla, satisfaction (services/tickets/reports.py)."""
        with self.db.get_session() as session:
            return reports.report(session, name, query, client_id)

    @timer(interval=sla_tick_seconds())
    def sla_tick(self):
        """Publish the SLA warnings and breaches that have come due (every instance runs it: SKIP LOCKED
        shares the tickets, see sla_operations)."""
        batch = sla_operations.TICK_BATCH
        while True:
            with self.db.get_session() as session:
                claimed, events = sla_operations.tick(session, limit=batch)
                self._commit_and_publish(session, events)
            if claimed < batch:
                return
