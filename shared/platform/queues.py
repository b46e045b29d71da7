"""Declaring a service's durable event queues before it first runs (`migrate` does it), and their type.

Publishers do not use `mandatory`: an event reaching an exchange with no bound queue is dropped.
Declaring the queues at deploy time, before any service starts, keeps every event for a consumer
even if it has never run. The queues are built by nameko's own EventHandler code from the service
class, so their names and arguments are exactly those the running service consumes.

Queue type (EVENT_QUEUE_TYPE, `classic` by default, or `quorum`): the durable queues that hold events
(every SERVICE_POOL handler's and the dead-letter queue) are declared with `x-queue-type: quorum` on a
RabbitMQ cluster, so that they survive the loss of a node (replicated by Raft; docs/scaling.md). RPC
queues stay classic whatever the setting: a request is retried by its caller, and the reply queues
nameko makes are exclusive or auto-deleted, which quorum queues cannot be. A queue's type is fixed
when it is first declared: switching an existing deployment means draining and deleting its event
queues first (RabbitMQ refuses a redeclare with another type, PRECONDITION_FAILED).
"""
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.events import EventHandler

from shared.platform.config import env

QUEUE_TYPES = ("classic", "quorum")


def queue_type(config=None):
    """The configured type of durable event queues: the nameko config's EVENT_QUEUE_TYPE, else the
    environment's, else classic; ValueError for anything else (a typo must not start a service)."""
    chosen = ((config or {}).get("EVENT_QUEUE_TYPE") or env("EVENT_QUEUE_TYPE", "classic")).strip().lower()
    if chosen not in QUEUE_TYPES:
        raise ValueError(f"EVENT_QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, not {chosen!r}")
    return chosen


def typed(queue, config=None):
    """`queue` with the configured type's argument when it can have it (durable, shared, kept):
    exclusive or auto-delete queues stay classic. Returns the queue (changed in place)."""
    if queue_type(config) == "quorum" and queue.durable and not queue.exclusive and not queue.auto_delete:
        queue.queue_arguments = {**(queue.queue_arguments or {}), "x-queue-type": "quorum"}
    return queue


_nameko_setup = EventHandler.setup


def _typed_setup(self):
    # nameko builds the handler's Queue in setup() and declares it when the consumer starts.
    _nameko_setup(self)
    typed(self.queue, self.container.config)


def install():
    """Every nameko event handler in this process declares its queue with the configured type
    (runtime.init() calls it; idempotent)."""
    EventHandler.setup = _typed_setup


def event_queues(service_cls, config):
    """The kombu Queues (with exchange and binding) that the service's event handlers consume."""
    container = ServiceContainer(service_cls, config)
    queues = []
    for entrypoint in container.entrypoints:
        if isinstance(entrypoint, EventHandler):
            entrypoint.setup()  # computes entrypoint.queue; nothing is started or connected
            queues.append(typed(entrypoint.queue, config))
    return sorted(queues, key=lambda queue: queue.name)


def declare_event_queues(service_cls, config):
    """Declare the exchange(s), queues and bindings on the broker; returns the queue names."""
    queues = event_queues(service_cls, config)
    if queues:
        with Connection(config["AMQP_URI"]) as connection:
            channel = connection.channel()
            for queue in queues:
                queue(channel).declare()
    return [queue.name for queue in queues]
