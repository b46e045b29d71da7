"""Email in benchmark: messages/s into tickets through the SMTP receiver with 16 concurrent senders,
and each message's latency from the start of its DATA to the receiver's 250, which comes only once
the mail is stored on its ticket (the reply waits for the notifier and tickets). Half the mails are
replies (reply token), half open new tickets; the aim: >= 100 messages/s, p99 < 2 s.

What runs: inbound-smtp, the notifier (outgoing mail to the console backend) and tickets; left out: the
gateway, chat and the tracker projector (bench/day.py runs the whole system)."""
import smtplib
import time
import uuid

import eventlet

from shared.platform.green import patch

patch()  # first: monkey patching
from bench.common import bench_amqp_uri, bench_database, percentile  # noqa: E402
from services.notifier import directory  # noqa: E402
from services.notifier.config import MIGRATIONS_DIR as NOTIFIER_MIGRATIONS  # noqa: E402
from services.notifier.service import NotifierService  # noqa: E402
from services.tickets.config import MIGRATIONS_DIR as TICKETS_MIGRATIONS  # noqa: E402
from shared.platform.queues import declare_event_queues  # noqa: E402
from shared.testing import ServiceProcess, rpc_proxy, wait_until_answers  # noqa: E402
from tests.fixtures.inbound_mail import DOMAIN, InboundSmtpProcess, client_snapshot, plain_mail  # noqa: E402

VHOST = "deskline_bench_inbound"
CLIENT_ID = uuid.UUID("00000000-0000-4000-8000-00000000b001")


def seed_directory(url):
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    engine = sa.create_engine(url)
    with Session(engine) as session, session.begin():
        directory.apply_snapshot(session, client_snapshot(CLIENT_ID, "acme"))
    engine.dispose()


def mails(tokens, total):
    """Half replies by token to the seeded tickets, half new tickets; each from its own sender."""
    for n in range(total):
        sender = f"customer{n}@bench.example.com"
        if n % 2 and tokens:
            to = f"support+{tokens[n % len(tokens)]}@{DOMAIN}"
            yield to, sender, plain_mail(sender, to, "Re: bench", f"Reply number {n}.\n\n> quoted history\n")
        else:
            to = f"acme@{DOMAIN}"
            yield to, sender, plain_mail(sender, to, f"Bench request {n}", f"New request number {n}.")


def send_all(port, queue, senders):
    latencies, refused = [], []

    def sender():
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
        smtp.ehlo()
        for to, mail_from, raw in queue:
            smtp.mail(mail_from)
            smtp.rcpt(to)
            started = time.perf_counter()
            code, reply = smtp.data(raw)
            latencies.append(time.perf_counter() - started)
            if code != 250:
                refused.append((code, reply))
        smtp.quit()

    pool = eventlet.GreenPool(senders)
    started = time.perf_counter()
    for _ in range(senders):
        pool.spawn_n(sender)
    pool.waitall()
    return latencies, refused, time.perf_counter() - started


def main(total=1000, senders=16, seeded=50):
    amqp_uri = bench_amqp_uri(VHOST)
    notifier_db = bench_database("deskline_notifier_inbound", NOTIFIER_MIGRATIONS)
    tickets_db = bench_database("deskline_tickets_inbound", TICKETS_MIGRATIONS)
    declare_event_queues(NotifierService, {"AMQP_URI": amqp_uri})
    seed_directory(notifier_db)
    # Outgoing mail (the created emails) to the console backend: mail in is what is measured here.
    env = {"NOTIFIER_DATABASE_URL": notifier_db, "EMAIL_BACKEND": "console", "LOG_LEVEL": "WARNING",
           "INBOUND_EMAIL_DOMAIN": DOMAIN, "INBOUND_SENDER_HOURLY_LIMIT": "1000000"}
    notifier = ServiceProcess("notifier", env, amqp_uri)
    tickets = ServiceProcess("tickets", {"TICKETS_DATABASE_URL": tickets_db, "LOG_LEVEL": "WARNING"}, amqp_uri)
    receiver = InboundSmtpProcess(amqp_uri, {**env, "LOG_LEVEL": "WARNING"})
    try:
        print("\n== email in: SMTP receiver -> notifier -> tickets, one process each ==", flush=True)
        tickets.start()
        notifier.start()
        wait_until_answers(amqp_uri, "tickets")
        receiver.start()
        with rpc_proxy(amqp_uri, timeout=30) as rpc:
            tokens = [rpc.tickets.create_ticket({
                "title": f"Seeded {n}", "description": "x", "client_id": str(CLIENT_ID),
                "customer_email": f"customer{2 * n + 1}@bench.example.com"})["reply_token"] for n in range(seeded)]
        send_all(receiver.port, iter(list(mails(tokens, 32))), senders)  # warm: proxies, pools, caches
        queue = iter(list(mails(tokens, total)))
        latencies, refused, elapsed = send_all(receiver.port, queue, senders)
        rate = len(latencies) / elapsed
        print(f"{'inbound SMTP, ' + str(senders) + ' senders (half replies, half new)':<46} {rate:8.1f}/s"
              f"   p50 {percentile(latencies, 50) * 1000:6.1f} ms   p95 {percentile(latencies, 95) * 1000:6.1f} ms"
              f"   p99 {percentile(latencies, 99) * 1000:6.1f} ms   max {max(latencies) * 1000:6.1f} ms"
              f"   (n={len(latencies)}, refused {len(refused)}; DATA -> 250 = stored on the ticket)", flush=True)
        return {"messages_per_s": rate, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                "refused": len(refused)}
    finally:
        receiver.stop()
        notifier.stop()
        tickets.stop()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"(inbound benchmark took {time.perf_counter() - started:.0f} s)")
