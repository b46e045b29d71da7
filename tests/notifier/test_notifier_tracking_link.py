"""The notifier's send_tracking_link RPC: a tracker visitor's "e-mail me a link", one email per
request id (a retried call sends no second one), in the delivery log like every email."""
import uuid

from shared.testing import TRACKING_LINKS, wait_for

TICKET = {"ticket_number": "TKT-00042", "title": "Printer on fire", "status": "open", "priority": "high",
          "category": "technical", "created_at": "2026-11-30T20:00:00+00:00", "updated_at": "2026-11-30T20:00:00+00:00"}


def test_one_email_per_request_with_a_signed_link(notifier_rpc, smtp_sink):
    request_id = str(uuid.uuid4())
    notifier_rpc.send_tracking_link(request_id, TICKET, "kira@example.com")
    notifier_rpc.send_tracking_link(request_id, TICKET, "kira@example.com")  # a retried call
    smtp_sink.wait_for_count(1)
    message = smtp_sink.for_ticket("TKT-00042")[0]
    assert "Your link to track your ticket" in message.subject
    token = message.part("plain").split("/track-ticket/")[1].split()[0]
    assert TRACKING_LINKS.read_token(token) == ("TKT-00042", "kira@example.com")
    wait_for(lambda: [d for d in notifier_rpc.get_deliveries("TKT-00042") if d["status"] == "sent"],
             timeout=10, message="the delivery to be recorded as sent")
    assert [d["kind"] for d in notifier_rpc.get_deliveries("TKT-00042")] == ["tracking_link"]
    assert len(smtp_sink.for_ticket("TKT-00042")) == 1
