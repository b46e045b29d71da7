"""Declaring a service's durable event queues before it first runs (`migrate` does it).

Publishers do not use `mandatory`: an event reaching an exchange with no bound queue is dropped.
Declaring the queues at deploy time, before any service starts, keeps every event for a consumer
even if it has never run. The queues are built by nameko's own EventHandler code from the service
class, so their names and arguments are exactly those the running service consumes.
"""
from kombu import Connection
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
