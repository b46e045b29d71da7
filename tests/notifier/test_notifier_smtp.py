"""The running notifier end to end: real tickets service, RabbitMQ, PostgreSQL and an SMTP server."""
import logging
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.notifier import deliveries, emails
from services.notifier.config import MIGRATIONS_DIR, Settings, nameko_config
from services.notifier.models import Delivery
from services.notifier.service import NotifierService
from shared import testing
from shared.platform.config import MissingSecret
from shared.testing import TRACKING_LINKS, dead_letters, fresh_database, wait_for
from tests.fixtures.notifier import FAST_RETRIES, deliveries_in, ticket_envelope, ticket_payload

NEW = {"title": "Printer on fire", "description": "It is on fire.", "client_id": "acme",
       "customer_name": "Kira", "customer_email": "kira@example.com", "priority": "high"}


def wait_for_delivery(notifier_rpc, ticket_number, predicate, message):
    return wait_for(
        lambda: [d for d in notifier_rpc.get_deliveries(ticket_number) if predicate(d)],
        timeout=10, message=message,
    )


def test_created_updated_and_resolved_emails_arrive_with_their_content(tickets_rpc, notifier_rpc, smtp_sink):
    ticket = tickets_rpc.create_ticket(NEW)
    number = ticket["ticket_number"]
    smtp_sink.wait_for_count(1)
    tickets_rpc.update_ticket(number, {"status": "in_progress", "priority": "urgent", "assigned_to": "Sam"}, actor="sam")
    smtp_sink.wait_for_count(2)
    tickets_rpc.update_ticket(number, {"resolution_notes": "Draft: blame the toner", "description": "Edited"})
    tickets_rpc.update_ticket(
        number, {"status": "resolved", "resolution_notes": "Replaced the toner cartridge."}, actor="sam"
    )
    smtp_sink.wait_for_count(3)

    created, updated, resolved = smtp_sink.for_ticket(number)
    assert created.subject == f"[{number}] We received your request: Printer on fire"
    assert updated.subject == f"[{number}] Your ticket has been updated: Printer on fire"
    assert resolved.subject == f"[{number}] Your ticket has been resolved: Printer on fire"
    for received in (created, updated, resolved):
        assert received.message["From"] == "Deskline Support <support@deskline.test>"
        assert received.rcpt_tos == ["kira@example.com"]
        assert [p.get_content_type() for p in received.message.iter_parts()] == ["text/plain", "text/html"]
        token = received.part("plain").split("https://desk.example.com/track-ticket/", 1)[1].split()[0]
        assert TRACKING_LINKS.read_token(token) == (number, "kira@example.com")
    assert "✅ Status: OPEN" in created.part("plain") and "HIGH" in created.part("html")
    changes = [line.strip() for line in updated.part("plain").splitlines() if "->" in line]
    assert changes == ["• Status: OPEN -> IN PROGRESS", "• Priority: HIGH -> URGENT"]  # not the assignment
    assert "Sam" not in updated.part("plain") + updated.part("html")
    assert "blame the toner" not in updated.part("plain") + updated.part("html")
    for part in (resolved.part("plain"), resolved.part("html")):
        assert "Replaced the toner cartridge." in part and "reply to this email" in part
        assert "blame the toner" not in part

    log = notifier_rpc.get_deliveries(number)
    assert [(d["kind"], d["status"], d["attempts"]) for d in log] == [
        ("created", "sent", 1), ("updated", "sent", 1), ("resolved", "sent", 1)
    ]
    assert [d["provider_message_id"] for d in log] == [f"Q0000{n}" for n in (1, 2, 3)]
    assert notifier_rpc.get_deliveries(ticket["id"]) == log
    assert len(smtp_sink.received) == 3  # the notes-only update sent nothing
    assert notifier_rpc.ping() == "pong"


def test_a_title_with_markup_is_escaped_in_the_html_part(tickets_rpc, notifier_rpc, smtp_sink):
    tickets_rpc.create_ticket({**NEW, "title": "<script>alert('x')</script>"})
    (received,) = smtp_sink.wait_for_count(1)
    assert "<script>" not in received.part("html")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in received.part("html")
    assert "<script>alert('x')</script>" in received.part("plain")


def test_no_customer_email_is_recorded_as_skipped(tickets_rpc, notifier_rpc, smtp_sink):
    number = tickets_rpc.create_ticket({**NEW, "customer_email": None})["ticket_number"]
    (skipped,) = wait_for_delivery(notifier_rpc, number, lambda d: True, "the skipped delivery")
    assert (skipped["status"], skipped["recipient"], skipped["attempts"]) == ("skipped", None, 0)
    assert notifier_rpc.delivery_stats()["skipped"] == 1
    assert smtp_sink.data_commands == 0


def test_a_deleted_ticket_sends_nothing(tickets_rpc, notifier_rpc, smtp_sink):
    first = tickets_rpc.create_ticket(NEW)["ticket_number"]
    smtp_sink.wait_for_count(1)
    tickets_rpc.delete_ticket(first)
    second = tickets_rpc.create_ticket(NEW)["ticket_number"]
    smtp_sink.wait_for_count(2)
    assert [r.subject.split("]")[0] for r in smtp_sink.received] == [f"[{first}", f"[{second}"]
    assert len(notifier_rpc.get_deliveries(first)) == 1


@pytest.fixture
def one_worker(notifier_config):
    """One worker, one message in flight: the queue is consumed strictly in order."""
    notifier_config["max_workers"] = 1
    return notifier_config


def test_the_same_event_delivered_twice_sends_one_email(one_worker, notifier_rpc, smtp_sink, publish_ticket_event):
    envelope = ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00077"))
    publish_ticket_event(envelope)
    publish_ticket_event(envelope)  # a broker redelivery or an outbox relay re-publish
    marker = publish_ticket_event(ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00078")))
    smtp_sink.wait_for_count(2)  # the marker was queued after both copies: they have been handled
    assert [r.subject.split("]")[0] for r in smtp_sink.received] == ["[TKT-00077", "[TKT-00078"]
    (delivery,) = notifier_rpc.get_deliveries("TKT-00077")
    assert delivery["event_id"] == envelope["event_id"] and delivery["status"] == "sent"
    assert notifier_rpc.get_deliveries("TKT-00078")[0]["event_id"] == marker["event_id"]


def test_an_unreadable_event_is_dead_lettered_without_stopping_the_queue(
    one_worker, notifier_service, smtp_sink, publish_ticket_event, amqp_uri
):
    garbage = {"event_id": "e-1", "event_type": "ticket.created", "data": "garbage"}
    publish_ticket_event(garbage)
    publish_ticket_event(ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00079")))
    (received,) = smtp_sink.wait_for_count(1)
    assert received.subject.startswith("[TKT-00079]")
    (parked,) = wait_for(lambda: dead_letters(amqp_uri), message="the unreadable event in the dead-letter queue")
    assert parked["service"] == "notifier" and parked["payload"] == garbage


@pytest.mark.parametrize("reply", ["421 4.3.2 Service shutting down", "451 4.3.0 Try again later"])
def test_smtp_refusing_then_accepting_sends_one_email_after_retry(tickets_rpc, notifier_rpc, smtp_sink, reply):
    smtp_sink.refuse_next(reply, times=2)
    number = tickets_rpc.create_ticket(NEW)["ticket_number"]
    (received,) = smtp_sink.wait_for_count(1)
    (delivery,) = wait_for_delivery(notifier_rpc, number, lambda d: d["status"] == "sent", "sent")
    assert received.subject.startswith(f"[{number}]")
    assert delivery["attempts"] == 3 and reply.split()[0] in delivery["last_error"]
    assert smtp_sink.data_commands == 3 and len(smtp_sink.received) == 1


def test_a_permanent_refusal_is_recorded_failed_and_not_retried(tickets_rpc, notifier_rpc, smtp_sink):
    smtp_sink.refuse_recipient("gone@example.com", "550 5.1.1 No such user")
    number = tickets_rpc.create_ticket({**NEW, "customer_email": "gone@example.com"})["ticket_number"]
    (failed,) = wait_for_delivery(notifier_rpc, number, lambda d: d["status"] == "failed", "failed")
    assert failed["attempts"] == 1 and failed["next_attempt_at"] is None and "550" in failed["last_error"]
    assert notifier_rpc.delivery_stats()["failed"] == 1


def test_a_delivery_is_dead_after_its_bounded_attempts(tickets_rpc, notifier_rpc, smtp_sink):
    smtp_sink.refuse_next("451 4.3.0 Still down", times=50)
    number = tickets_rpc.create_ticket(NEW)["ticket_number"]
    (dead,) = wait_for_delivery(notifier_rpc, number, lambda d: d["status"] == "dead", "dead")
    assert dead["attempts"] == FAST_RETRIES["max_attempts"] == smtp_sink.data_commands
    assert notifier_rpc.delivery_stats()["dead"] == 1
    smtp_sink._scripted.clear()  # the server is back; an operator requeues the dead delivery
    notifier_rpc.requeue_delivery(dead["id"])
    smtp_sink.wait_for_count(1)
    wait_for_delivery(notifier_rpc, number, lambda d: d["status"] == "sent", "sent after requeue")


def test_a_delivery_left_mid_send_by_a_dead_process_is_sent_by_the_running_one(
    notifier_sessions, notifier_service, smtp_sink
):
    plan = emails.plan(ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00031")))
    with notifier_sessions.begin() as session:
        deliveries.record(session, plan, Settings(**FAST_RETRIES))  # recorded, claimed, then the crash
        session.execute(sa.update(Delivery).values(next_attempt_at=deliveries.utcnow() - timedelta(seconds=1)))
    (received,) = smtp_sink.wait_for_count(1)
    assert received.subject.startswith("[TKT-00031]")
    assert received.message["Message-ID"] == f"<{plan.event_id}.created@deskline.test>"
    wait_for(lambda: deliveries_in(notifier_sessions, status="sent"), message="sent recorded")
    assert deliveries_in(notifier_sessions)[0].attempts == 2


@pytest.fixture
def late_database():
    """A notifier database that does not exist yet (the test creates it mid-way)."""
    url = testing.test_database_url(f"deskline_notifier_late_{uuid.uuid4().hex[:8]}")
    yield url
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def test_an_event_that_cannot_be_recorded_goes_back_to_the_queue_not_lost(
    container_factory, amqp_uri, notifier_settings, late_database, smtp_sink, publish_ticket_event, caplog
):
    container = container_factory(
        NotifierService, {"AMQP_URI": amqp_uri, "DB_URIS": {"notifier:Base": late_database}, "NOTIFIER": notifier_settings}
    )
    container.start()
    caplog.set_level(logging.WARNING, logger="shared.platform.consumers")
    publish_ticket_event(ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00055")))
    wait_for(lambda: len([r for r in caplog.records if "handed back to the queue" in r.getMessage()]) >= 2,
             message="the handler failing (database missing) and the event coming back")
    assert smtp_sink.received == []
    fresh_database(late_database, MIGRATIONS_DIR)
    (received,) = smtp_sink.wait_for_count(1)
    assert received.subject.startswith("[TKT-00055]")


def test_an_event_the_database_refuses_for_good_goes_to_the_dead_letter_queue(
    notifier_service, notifier_engine, amqp_uri, smtp_sink, publish_ticket_event
):
    with notifier_engine.begin() as conn:  # a schema the code does not expect: retrying cannot cure it
        conn.execute(sa.text("ALTER TABLE deliveries RENAME TO deliveries_away"))
    try:
        publish_ticket_event(ticket_envelope("ticket.created", ticket_payload(ticket_number="TKT-00056")))
        parked = wait_for(lambda: testing.dead_letters(amqp_uri), message="the event in the dead-letter queue")
    finally:
        with notifier_engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE IF EXISTS deliveries_away RENAME TO deliveries"))
    (letter,) = parked
    assert letter["service"] == "notifier" and "deliveries" in letter["error"]
    assert letter["payload"]["data"]["ticket"]["ticket_number"] == "TKT-00056"
    assert smtp_sink.received == []


def test_in_production_the_notifier_will_not_start_without_the_tracker_link_secret(
    container_factory, notifier_config, monkeypatch
):
    monkeypatch.setenv("DESKLINE_ENV", "production")
    monkeypatch.delenv("TRACKER_LINK_SECRET", raising=False)
    monkeypatch.setenv("SENDER_EMAIL", "support@example.com")
    with pytest.raises(MissingSecret, match="TRACKER_LINK_SECRET"):
        nameko_config()
    # Settings built elsewhere with the development secret are refused at start too.
    container = container_factory(NotifierService, notifier_config)
    with pytest.raises(MissingSecret, match="TRACKER_LINK_SECRET"):
        container.start()


def test_a_ticket_created_already_resolved_gets_one_fitting_email(tickets_rpc, notifier_rpc, smtp_sink):
    ticket = tickets_rpc.create_ticket({**NEW, "status": "resolved", "resolution_notes": "Answered in the chat."})
    (received,) = smtp_sink.wait_for_count(1)
    assert received.subject == f"[{ticket['ticket_number']}] Your request has been resolved: Printer on fire"
    assert "Answered in the chat." in received.part("plain") and "get back to you" not in received.part("plain")
    assert [d["kind"] for d in notifier_rpc.get_deliveries(ticket["ticket_number"])] == ["created"]
