"""Notifier benchmark: emails/s through the SMTP backend and through the whole service, and
event-to-email latency while tickets are created at a steady rate (the aim: p95 < 1 s at 100/s).

What runs: the notifier and the tickets service (RPC creates, no gateway), PostgreSQL, RabbitMQ; left
out: the gateway, chat and the tracker projector (bench/day.py runs the whole system)."""
import socket
import time
import uuid
from datetime import datetime

import eventlet
import requests
from aiosmtpd.controller import Controller
from nameko.standalone.events import event_dispatcher

from shared.platform.green import patch

patch()  # first: monkey patching
from bench.common import MANAGEMENT_API, bench_database, percentile  # noqa: E402
from services.notifier import emails  # noqa: E402
from services.notifier.backends import SmtpBackend  # noqa: E402
from services.notifier.config import MIGRATIONS_DIR as NOTIFIER_MIGRATIONS  # noqa: E402
from services.notifier.config import Settings  # noqa: E402
from services.notifier.service import NotifierService  # noqa: E402
from services.tickets.config import MIGRATIONS_DIR as TICKETS_MIGRATIONS  # noqa: E402
from shared.contracts.events import make_envelope  # noqa: E402
from shared.platform.queues import declare_event_queues  # noqa: E402
from shared.testing import ServiceProcess, rpc_proxy, wait_for  # noqa: E402

VHOST = "deskline_bench_notifier"  # its own: runs beside the other benchmarks without a clash
NEW = {"title": "Bench ticket", "description": "Measured.", "client_id": "bench",
       "customer_name": "Bench", "customer_email": "customer@bench.example.com"}


class CountingSink:
    """A local SMTP server that notes when each email arrived, by the ticket number in its subject."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.arrivals = {}
        self.count = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        self.count += 1
        head = envelope.content[:4096].decode(errors="replace")
        start = head.find("[TKT-")
        if start >= 0:
            self.arrivals.setdefault(head[start + 1:head.index("]", start)], now)
        return "250 2.0.0 Ok"


def fresh_vhost():
    base, auth = MANAGEMENT_API.replace("guest:guest@", ""), ("guest", "guest")
    requests.delete(f"{base}/api/vhosts/{VHOST}", auth=auth, timeout=10)
    requests.put(f"{base}/api/vhosts/{VHOST}", auth=auth, timeout=10).raise_for_status()
    requests.put(f"{base}/api/permissions/{VHOST}/guest", auth=auth, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    return f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


def line(name, rate=None, latencies=None, note=""):
    text = f"{name:<46}"
    text += f" {rate:8.1f}/s" if rate is not None else " " * 11
    if latencies:
        text += (f"   p50 {percentile(latencies, 50) * 1000:6.1f} ms   p95 {percentile(latencies, 95) * 1000:6.1f} ms"
                 f"   p99 {percentile(latencies, 99) * 1000:6.1f} ms   max {max(latencies) * 1000:6.1f} ms")
    print(text + (f"   {note}" if note else ""), flush=True)


def envelope(number):
    ticket = {"id": str(uuid.uuid4()), "ticket_number": number, "title": "Bench ticket", "status": "open",
              "priority": "medium", "category": "general", "customer_name": "Bench",
              "customer_email": "customer@bench.example.com", "assigned_to": None, "resolution_notes": None,
              "created_at": None}
    return make_envelope("ticket.created", {"ticket": ticket, "actor": None})


def smtp_backend_rate(sink, count, concurrency):
    """Render and send `count` emails straight through SmtpBackend (one connection each)."""
    settings = Settings(email_backend="smtp", smtp_port=sink.port)
    backend = SmtpBackend(settings)
    plans = [emails.plan(envelope(f"TKT-B{n:05d}")) for n in range(count)]
    before = sink.count
    started = time.perf_counter()
    pool = eventlet.GreenPool(concurrency)
    for plan in plans:
        pool.spawn_n(lambda p: backend.send(emails.compose(p.kind, p.context, p.recipient, p.event_id, settings)), plan)
    pool.waitall()
    elapsed = time.perf_counter() - started
    assert sink.count - before == count
    return count / elapsed


def service_rate(sink, amqp_uri, count):
    """Publish `count` ticket.created events at once; emails/s until the last one arrived."""
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    before = sink.count
    started = time.perf_counter()
    for n in range(count):
        dispatch("tickets", "ticket.created", envelope(f"TKT-E{n:05d}"))
    wait_for(lambda: sink.count - before >= count, timeout=120, interval=0.01, message="backlog emailed")
    return count / (time.perf_counter() - started)


def latency_at_rate(sink, amqp_uri, rate, seconds, callers=16):
    """Create tickets through the tickets service at `rate`/s; event-to-email latency of each one
    (from the ticket's commit time to the SMTP server's receipt)."""
    total = int(rate * seconds)
    created = {}
    slots = iter(range(total))
    started = time.time()

    def caller():
        with rpc_proxy(amqp_uri, timeout=30) as rpc:
            for slot in slots:
                eventlet.sleep(max(0.0, started + slot / rate - time.time()))
                ticket = rpc.tickets.create_ticket(NEW)
                created[ticket["ticket_number"]] = ticket["created_at"]

    pool = eventlet.GreenPool(callers)
    for _ in range(callers):
        pool.spawn_n(caller)
    pool.waitall()
    achieved = total / (time.time() - started)
    wait_for(lambda: all(number in sink.arrivals for number in created), timeout=60, interval=0.05,
             message="every created ticket emailed")
    latencies = [sink.arrivals[number] - datetime.fromisoformat(at).timestamp() for number, at in created.items()]
    return achieved, latencies


def main(backend_emails=1000, service_emails=1000, rate=100, seconds=10):
    amqp_uri = fresh_vhost()
    notifier_db = bench_database("deskline_notifier", NOTIFIER_MIGRATIONS)
    tickets_db = bench_database("deskline_notifier_tickets", TICKETS_MIGRATIONS)
    declare_event_queues(NotifierService, {"AMQP_URI": amqp_uri})  # as `migrate` does on a deploy
    sink = CountingSink()
    sink.controller.start()
    notifier = ServiceProcess("notifier", {
        "NOTIFIER_DATABASE_URL": notifier_db, "EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port), "LOG_LEVEL": "WARNING",
    }, amqp_uri)
    tickets = ServiceProcess("tickets", {"TICKETS_DATABASE_URL": tickets_db, "LOG_LEVEL": "WARNING"}, amqp_uri)
    results = {}
    try:
        print("\n== notifier: SMTP to a local aiosmtpd server, one notifier and one tickets process ==", flush=True)
        results["smtp_backend_emails_per_s"] = smtp_backend_rate(sink, backend_emails, concurrency=10)
        line("SMTP backend alone (render + send, 10 at once)", results["smtp_backend_emails_per_s"],
             note=f"(n={backend_emails})")
        notifier.start()
        tickets.start()
        results["service_emails_per_s"] = service_rate(sink, amqp_uri, service_emails)
        line("notifier, backlog of ticket.created events", results["service_emails_per_s"],
             note=f"(n={service_emails}: record, send, record sent)")
        achieved, latencies = latency_at_rate(sink, amqp_uri, rate, seconds)
        results.update(created_per_s=achieved, latency_p50=percentile(latencies, 50),
                       latency_p95=percentile(latencies, 95), latency_p99=percentile(latencies, 99))
        line(f"event-to-email at {rate} tickets/s for {seconds} s", achieved, latencies,
             note=f"(n={len(latencies)}; commit in tickets -> SMTP receipt)")
        return results
    finally:
        tickets.stop()
        notifier.stop()
        sink.controller.stop()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(notifier benchmark took {time.perf_counter() - started:.0f} s)")
