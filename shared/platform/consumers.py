"""What an event consumer does with an event it could not handle: one policy for every service.

- A malformed event (`MalformedEvent`: no retry can make it readable) is parked in the durable
  dead-letter queue, with who failed it and why, and acked: an operator reads and replays it.
- A transient failure (the database, the broker or Redis away or overloaded) goes back to the queue
  after CONSUMER_REQUEUE_DELAY seconds, so that an outage does not loop hot. The handler must be
  declared `requeue_on_error=True`: nameko acks a failed handler's message otherwise.
- Anything else (a bug, data the database refuses) cannot be cured by retrying: dead-letter queue.

`ConsumerPolicy` is plain Python (tests drive it with a fake handler); `EventPolicy` is the nameko
dependency that gives a service's handlers one, parking events through the broker.
"""
import logging
import time

from kombu import Connection, Queue
from nameko.extensions import DependencyProvider

from shared.contracts.events import MalformedEvent

log = logging.getLogger(__name__)

# Kept, durable, for an operator to read and replay, instead of being acked away or redelivered forever.
DEAD_LETTER_QUEUE = "deskline.dead-letter"
DEAD_LETTERED = "dead-lettered"
DEFAULT_REQUEUE_DELAY = 1.0


def is_transient(exc):
    """Whether retrying later may succeed: the database, Redis or the broker was away or overloaded.

    Not every OSError: a missing file is a bug. amqp reports a closed socket as a plain OSError.
    """
    import redis
    from amqp.exceptions import AMQPError
    from kombu.exceptions import KombuError
    from sqlalchemy import exc as sa_exc

    return type(exc) is OSError or isinstance(exc, (
        sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
        ConnectionError, TimeoutError, AMQPError, KombuError,
        redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError,
    ))


def dead_letter(amqp_uri, service, payload, exc):
    """Park an event in the dead-letter queue with who failed it and why (persistent, confirmed)."""
    from shared.platform.queues import typed

    queue = typed(Queue(DEAD_LETTER_QUEUE, durable=True))
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(
            {"service": service, "error": repr(exc)[:2000], "payload": payload},
            routing_key=DEAD_LETTER_QUEUE, declare=[queue], delivery_mode=2, serializer="json", retry=True,
        )


def event_id_of(payload):
    return payload.get("event_id") if isinstance(payload, dict) else None


class ConsumerPolicy:
    """Runs a handler on an event and applies the policy to what it raises.

    `park(payload, exc)` stores an event in the dead-letter queue; `sleep` waits before a requeue.
    """

    def __init__(self, service, park, requeue_delay=DEFAULT_REQUEUE_DELAY, sleep=time.sleep, transient=is_transient):
        self.service, self.park, self.requeue_delay, self.sleep, self.transient = (
            service, park, requeue_delay, sleep, transient)

    def run(self, handle, payload):
        """`handle(payload)`'s result; DEAD_LETTERED when the event was parked; re-raises a transient
        failure (after the delay) so that the event goes back to the queue."""
        try:
            return handle(payload)
        except MalformedEvent as exc:
            log.error("%s: unreadable event %r moved to %s: %s", self.service, event_id_of(payload), DEAD_LETTER_QUEUE, exc)
            failure = exc
        except Exception as exc:
            if self.transient(exc):
                log.warning("%s: event %r handed back to the queue (%r); retried in %.1fs",
                            self.service, event_id_of(payload), exc, self.requeue_delay)
                self.sleep(self.requeue_delay)
                raise
            log.exception("%s: cannot handle event %r; moved to %s", self.service, event_id_of(payload), DEAD_LETTER_QUEUE)
            failure = exc
        self.park(payload, failure)
        return DEAD_LETTERED


class EventPolicy(DependencyProvider):
    """A service's ConsumerPolicy, from its config: AMQP_URI, CONSUMER_REQUEUE_DELAY."""

    def setup(self):
        import eventlet

        config, service = self.container.config, self.container.service_name
        self.policy = ConsumerPolicy(
            service, park=lambda payload, exc: dead_letter(config["AMQP_URI"], service, payload, exc),
            requeue_delay=config.get("CONSUMER_REQUEUE_DELAY", DEFAULT_REQUEUE_DELAY), sleep=eventlet.sleep,
        )

    def get_dependency(self, worker_ctx):
        return self.policy
