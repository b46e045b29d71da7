"""EVENT_QUEUE_TYPE=quorum on this RabbitMQ (a single node runs quorum queues too): the event queues are
quorum queues, declared so by `migrate` and by the running service alike, events flow through them, and
RPC (its request queue and nameko's exclusive reply queues) stays classic and answers."""
import subprocess

import pytest
from kombu import Queue
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher

from shared.platform import queues
from shared.platform.runtime import Pingable
from shared.testing import rpc_proxy, wait_for

RECEIVED = []


class Listener(Pingable):
    name = "queue_type_listener"

    @event_handler("tickets", "ticket.created")
    def on_created(self, payload):
        RECEIVED.append(payload)


def queue_types(amqp_uri):
    """{queue name: type} on the test's vhost, as the broker has them."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", amqp_uri.rsplit("/", 1)[1], "name", "type", "--no-table-headers"],
        check=True, capture_output=True, text=True, timeout=120).stdout
    return dict(line.split("\t") for line in listing.splitlines() if "\t" in line)


def test_quorum_event_queues_are_declared_by_migrate_and_carry_events_while_rpc_stays_classic(amqp_uri, container_factory):
    config = {"AMQP_URI": amqp_uri, "EVENT_QUEUE_TYPE": "quorum"}
    names = queues.declare_event_queues(Listener, config)  # what `migrate` does, before the service runs
    assert names == ["evt-tickets-ticket.created--queue_type_listener.on_created"]
    assert queue_types(amqp_uri)[names[0]] == "quorum"

    RECEIVED.clear()
    container = container_factory(Listener, config)
    container.start()  # declares the same queue with the same arguments: no PRECONDITION_FAILED
    event_dispatcher(config)("tickets", "ticket.created", {"n": 1})
    wait_for(lambda: RECEIVED == [{"n": 1}], timeout=10, message="the event through the quorum queue")
    with rpc_proxy(amqp_uri) as rpc:
        assert rpc.queue_type_listener.ping() == "pong"
        types = queue_types(amqp_uri)
    assert types["rpc-queue_type_listener"] == "classic"
    assert {kind for name, kind in types.items() if name.startswith("rpc.reply")} == {"classic"}


def test_the_default_is_classic_and_a_typo_is_refused(monkeypatch):
    monkeypatch.delenv("EVENT_QUEUE_TYPE", raising=False)
    assert queues.queue_type() == "classic"
    assert queues.typed(Queue("q", durable=True)).queue_arguments is None
    monkeypatch.setenv("EVENT_QUEUE_TYPE", "Quorum")
    assert queues.typed(Queue("q", durable=True)).queue_arguments == {"x-queue-type": "quorum"}
    # A queue that cannot be a quorum queue keeps its classic type.
    for kept in (Queue("x", durable=True, exclusive=True), Queue("y", durable=True, auto_delete=True), Queue("z", durable=False)):
        assert queues.typed(kept).queue_arguments is None
    with pytest.raises(ValueError, match="EVENT_QUEUE_TYPE"):
        queues.queue_type({"EVENT_QUEUE_TYPE": "mirrored"})
