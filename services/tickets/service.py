"""The tickets nameko service: thin RPC entrypoints over `operations`, and the outbox relay."""
from nameko.dependency_providers import Config
from nameko.events import EventDispatcher
from nameko.rpc import rpc
from nameko.timer import timer
from nameko_sqlalchemy import Database

from shared import outbox
from shared.exceptions import NotFound, ValidationError
from shared.runtime import Pingable

from . import operations
from .models import Base, OutboxEvent
from .schemas import dump_ticket

EXPECTED = (ValidationError, NotFound)


class TicketsService(Pingable):
    name = "tickets"

    config = Config()
    db = Database(Base, engine_options={"pool_pre_ping": True})
    # Not mandatory: an event nobody listens to yet is not an error for the publisher.
    dispatch = EventDispatcher()

    @rpc(expected_exceptions=EXPECTED)
    def create_ticket(self, data):
        with self.db.get_session() as session:
            ticket, event = operations.create_ticket(session, data)
            result, event_id = dump_ticket(ticket), event.id
        self._publish([event_id])
        return result

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
            result, event_id = {**dump_ticket(ticket), "changes": diff}, event and event.id
        if event_id:
            self._publish([event_id])
        return result

    @rpc(expected_exceptions=EXPECTED)
    def delete_ticket(self, ref, actor=None, client_id=None):
        with self.db.get_session() as session:
            event_id = operations.delete_ticket(session, ref, actor, client_id).id
        self._publish([event_id])
        return None

    @rpc(expected_exceptions=EXPECTED)
    def get_history(self, ref, client_id=None):
        with self.db.get_session() as session:
            return operations.get_history(session, ref, client_id)

    @rpc
    def outbox_backlog(self):
        """Events committed but not yet published (an operations metric)."""
        with self.db.get_session() as session:
            return outbox.unpublished_count(session, OutboxEvent)

    @timer(interval=1.0)
    def relay_outbox(self):
        """Publish what the fast path after each commit missed (a crash, a broker outage)."""
        batch = self.config.get("OUTBOX_BATCH_SIZE", 200)
        while self._publish(limit=batch) == batch:
            pass

    def _publish(self, ids=None, limit=200):
        with self.db.get_session() as session:
            return outbox.publish_pending(session, OutboxEvent, self.dispatch, ids=ids, limit=limit)
