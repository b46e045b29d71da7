"""Events published while the notifier is not running are emailed once it runs: its queues are
declared by `migrate`, before anything publishes, and it consumes exactly those queues."""
import contextlib
import signal
import subprocess
import sys
from collections import Counter

import pytest

from services.notifier.service import NotifierService
from shared.platform.queues import declare_event_queues
from shared.testing import ROOT, ServiceProcess, wait_for
from tests.fixtures.notifier import deliveries_in, notifier_process_env

NEW = {"title": "Offline", "description": "Sent while the notifier was away.", "client_id": "acme",
       "customer_name": "Kira", "customer_email": "kira@example.com"}
# The missed-chat transcripts' queue too (issue 11, point 5): chat events kept until the notifier runs.
QUEUES = ["evt-chat-chat.conversation_missed--notifier.on_conversation_missed",
          "evt-directory-directory.client_changed--notifier.on_directory_client_changed",
          "evt-tickets-ticket.created--notifier.on_ticket_created",
          "evt-tickets-ticket.message_added--notifier.on_message_added",
          "evt-tickets-ticket.sla_breached--notifier.on_sla_breached",
          "evt-tickets-ticket.sla_warning--notifier.on_sla_warning",
          "evt-tickets-ticket.updated--notifier.on_ticket_updated"]

pytestmark = pytest.mark.slow


def notifier_process(amqp_uri, notifier_db, smtp_sink):
    return ServiceProcess("notifier", notifier_process_env(notifier_db, smtp_sink), amqp_uri)


@contextlib.contextmanager
def running_until_killed(process):
    """Run, and at the end kill outright: once the test has seen what it needs, a graceful
    nameko stop (about 2 s) only costs time."""
    process.start()
    try:
        yield process
    finally:
        process.stop(sig=signal.SIGKILL)


def ticket_numbers(smtp_sink):
    return Counter(received.subject.split("]")[0].lstrip("[") for received in smtp_sink.received)


def test_migrate_declares_the_durable_queues_nameko_consumes(amqp_uri, notifier_db, rabbit_manager, rabbit_config):
    assert declare_event_queues(NotifierService, {"AMQP_URI": amqp_uri}) == QUEUES
    vhost = rabbit_config["vhost"]
    for name in QUEUES:
        queue = rabbit_manager.get_queue(vhost, name)
        assert queue["durable"] and not queue["auto_delete"]
    created = next(name for name in QUEUES if "ticket.created" in name)
    bindings = {(b["source"], b["routing_key"], b["destination"]) for b in rabbit_manager.get_queue_bindings(vhost, created)}
    assert ("tickets.events", "ticket.created", created) in bindings
    missed = {(b["source"], b["routing_key"]) for b in rabbit_manager.get_queue_bindings(vhost, QUEUES[0])}
    assert ("chat.events", "chat.conversation_missed") in missed


def test_tickets_created_before_the_notifier_ever_ran_are_emailed_when_it_starts(
    amqp_uri, notifier_db, notifier_sessions, tickets_rpc, smtp_sink
):
    migrate = subprocess.run(
        [sys.executable, "-m", "services.notifier", "migrate"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**notifier_process(amqp_uri, notifier_db, smtp_sink).env},
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "event queues declared: " + ", ".join(QUEUES) in migrate.stderr
    numbers = [tickets_rpc.create_ticket(NEW)["ticket_number"] for _ in range(5)]
    assert smtp_sink.received == []
    with running_until_killed(notifier_process(amqp_uri, notifier_db, smtp_sink)):
        smtp_sink.wait_for_count(5)
        # Killing it between the SMTP server's 250 and the 'sent' commit would (rightly) send again.
        wait_for(lambda: len(deliveries_in(notifier_sessions, status="sent")) == 5, message="5 sent recorded")
    assert sorted(ticket_numbers(smtp_sink)) == numbers and len(smtp_sink.received) == 5


def test_notifier_stopped_while_50_tickets_are_created_then_started_sends_50_emails_once(
    amqp_uri, notifier_db, notifier_sessions, tickets_rpc, smtp_sink
):
    first_run = notifier_process(amqp_uri, notifier_db, smtp_sink)
    with first_run:  # a graceful stop, as on a deploy or Ctrl-C
        first = tickets_rpc.create_ticket(NEW)["ticket_number"]
        smtp_sink.wait_for_count(1)
    numbers = [tickets_rpc.create_ticket(NEW)["ticket_number"] for _ in range(50)]
    assert len(smtp_sink.received) == 1
    with running_until_killed(notifier_process(amqp_uri, notifier_db, smtp_sink)) as second_run:
        smtp_sink.wait_for_count(51, timeout=20)
        wait_for(lambda: len(deliveries_in(notifier_sessions, status="sent")) == 51, message="51 sent recorded")
    counts = ticket_numbers(smtp_sink)
    assert sorted(counts) == sorted([first, *numbers]) and set(counts.values()) == {1}
    assert len(smtp_sink.received) == 51
    assert "Traceback" not in first_run.output() + second_run.output()
