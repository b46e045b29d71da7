"""Declaring a service's durable event queues before it first runs (`migrate` does it).

Publishers do not use `mandatory`: an event reaching an exchange with no bound queue is dropped.
Declaring the queues at deploy time, before any service starts, keeps every event for a consumer
even if it has never run. The queues are built by nameko's own EventHandler code from the service
class, so their names and arguments are exactly those the running service consumes.
"""
from kombu import Connection, Queue
from nameko.containers import ServiceContainer
from nameko.events import EventHandler


def event_queues(service_cls, config):
    """The kombu Queues (with exchange and binding) that the service's event handlers consume."""
    container = ServiceContainer(service_cls, config)
    queues = []
    for entrypoint in container.entrypoints:
        if isinstance(entrypoint, EventHandler):
            entrypoint.setup()  # computes entrypoint.queue; nothing is started or connected
            queues.append(entrypoint.queue)
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


# Events a consumer could not handle for a reason that retrying cannot cure (a bug, data the
# database refuses): kept here, durable, for an operator to read and replay, instead of being
# acked away or redelivered forever.
DEAD_LETTER_QUEUE = "deskline.dead-letter"


def is_transient(exc):
    """Whether retrying later may succeed: the database or the broker was away or overloaded."""
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, (
        sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
        ConnectionError, TimeoutError,
    ))


def dead_letter(amqp_uri, service, payload, exc):
    """Park an event in the dead-letter queue with who failed it and why (persistent, confirmed)."""
    queue = Queue(DEAD_LETTER_QUEUE, durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish(
            {"service": service, "error": repr(exc)[:2000], "payload": payload},
            routing_key=DEAD_LETTER_QUEUE, declare=[queue], delivery_mode=2, serializer="json", retry=True,
        )
