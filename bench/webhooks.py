"""Webhooks benchmark: deliveries/s from the webhooks process (`python -m services.notifier webhooks`) to a
local receiver for a backlog of events, and the lag from an event's publication to its receipt while
events are published at a steady rate (the aim: p95 < 1 s at 100 events/s)."""
import json
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet
from kombu import Connection, Exchange, Producer

from shared.platform.green import patch

patch()  # first: monkey patching
from bench.common import bench_amqp_uri, bench_database, percentile  # noqa: E402
from bench.notifier import line  # noqa: E402
from services.notifier.config import MIGRATIONS_DIR  # noqa: E402
from services.notifier.webhooks.service import WebhooksService  # noqa: E402
from shared.contracts.events import make_envelope  # noqa: E402
from shared.platform.queues import declare_event_queues  # noqa: E402
from shared.testing import ServiceProcess, rpc_proxy, wait_for  # noqa: E402

CLIENT = str(uuid.UUID(int=0xBE7C4))


class Receiver:
    """A local webhook receiver answering 200 at once; notes when each event arrived."""

    def __init__(self):
        self.arrivals = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.arrivals.setdefault(json.loads(body)["event_id"], time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self):
        eventlet.spawn_n(self.server.serve_forever)
        return self


def envelope(number):
    ticket = {"id": str(uuid.uuid4()), "ticket_number": f"TKT-W{number:05d}", "client_id": CLIENT,
              "title": "Bench ticket", "status": "open", "priority": "medium"}
    return make_envelope("ticket.created", {"ticket": ticket, "actor": None})


class Publisher:
    """Publishes as the tickets service's relay does (nameko's `tickets.events` topic exchange, persistent
    JSON), on one connection: a standalone dispatcher opening a channel per event could not keep up."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri)
        self.producer = Producer(self.connection.channel(), exchange=Exchange("tickets.events", type="topic",
                                                                              durable=True))

    def __call__(self, event):
        self.producer.publish(event, routing_key=event["event_type"], serializer="json", delivery_mode=2)

    def close(self):
        self.connection.close()


def backlog_rate(receiver, amqp_uri, process, count):
    """`count` events waiting in the process's queue before it starts; deliveries/s from the first receipt
    to the last (the process's start-up left out)."""
    publish = Publisher(amqp_uri)
    sent = [envelope(n) for n in range(count)]
    for each in sent:
        publish(each)
    publish.close()
    process.start()
    wait_for(lambda: all(each["event_id"] in receiver.arrivals for each in sent), timeout=300, interval=0.02,
             message="backlog delivered")
    times = [receiver.arrivals[each["event_id"]] for each in sent]
    return (count - 1) / (max(times) - min(times))


def lag_at_rate(receiver, amqp_uri, rate, seconds):
    """Publish at `rate`/s for `seconds`; publication-to-receipt lag of each event."""
    dispatch = Publisher(amqp_uri)
    total = int(rate * seconds)
    published = {}
    started = time.time()
    for n in range(total):
        eventlet.sleep(max(0.0, started + n / rate - time.time()))
        each = envelope(100_000 + n)
        published[each["event_id"]] = time.time()
        dispatch(each)
    achieved = total / (time.time() - started)
    dispatch.close()
    wait_for(lambda: all(event_id in receiver.arrivals for event_id in published), timeout=120, interval=0.05,
             message="every event delivered")
    return achieved, [receiver.arrivals[event_id] - at for event_id, at in published.items()]


def main(backlog=1000, rate=100, seconds=10):
    amqp_uri = bench_amqp_uri("deskline_bench_webhooks")
    db = bench_database("deskline_webhooks", MIGRATIONS_DIR)
    declare_event_queues(WebhooksService, {"AMQP_URI": amqp_uri})  # as `migrate` does on a deploy
    receiver = Receiver().start()
    process = ServiceProcess("notifier", {"NOTIFIER_DATABASE_URL": db, "WEBHOOK_ALLOW_PRIVATE": "true",
                                          "LOG_LEVEL": "WARNING"}, amqp_uri, command="webhooks", answers_as="webhooks")
    results = {}
    try:
        print("\n== webhooks: one webhooks process, one endpoint, a local HTTP receiver (200 at once) ==", flush=True)
        process.start()
        with rpc_proxy(amqp_uri, timeout=30) as rpc:
            rpc.webhooks.create_webhook(CLIENT, {"url": receiver.url, "events": ["ticket.*"]})
        process.stop()
        results["deliveries_per_s"] = backlog_rate(receiver, amqp_uri, process, backlog)
        line("backlog of ticket.created events, delivered", results["deliveries_per_s"],
             note=f"(n={backlog}: record, sign, POST, record the attempt)")
        achieved, lags = lag_at_rate(receiver, amqp_uri, rate, seconds)
        results.update(published_per_s=achieved, lag_p50=percentile(lags, 50), lag_p95=percentile(lags, 95),
                       lag_p99=percentile(lags, 99))
        line(f"event-to-delivery at {rate} events/s for {seconds} s", achieved, lags,
             note=f"(n={len(lags)}; publication -> receipt)")
        return results
    finally:
        process.stop()
        receiver.server.server_close()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(webhooks benchmark took {time.perf_counter() - started:.0f} s)")
