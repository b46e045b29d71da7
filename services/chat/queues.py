"""Declaring the chat service's durable event queue before it first runs (`migrate` does it).

The same approach as services/notifier/queues.py: the tickets service publishes without
`mandatory`, so a ticket.created reaching an exchange with no bound queue is dropped. The
queues are built by nameko's own EventHandler code from the service class, so their names and
arguments are exactly those the running service consumes.
"""
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.events import EventHandler

from .service import ChatService


def event_queues(config, service_cls=ChatService):
    """The kombu Queues (with exchange and binding) that the service's event handlers consume."""
    container = ServiceContainer(service_cls, config)
    queues = []
    for entrypoint in container.entrypoints:
        if isinstance(entrypoint, EventHandler):
            entrypoint.setup()  # computes entrypoint.queue; nothing is started or connected
            queues.append(entrypoint.queue)
    return sorted(queues, key=lambda queue: queue.name)


def declare_event_queues(config, service_cls=ChatService):
    """Declare the exchange(s), queues and bindings on the broker; returns the queue names."""
    queues = event_queues(config, service_cls)
    with Connection(config["AMQP_URI"]) as connection:
        channel = connection.channel()
        for queue in queues:
            queue(channel).declare()
    return [queue.name for queue in queues]
