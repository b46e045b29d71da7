"""The running notifier with the SendGrid backend against an HTTP server that answers on demand."""
from dataclasses import asdict

import pytest

from services.notifier.config import Settings
from shared.testing import wait_for
from tests.fixtures.notifier import FAST_RETRIES, ticket_envelope, ticket_payload


@pytest.fixture
def notifier_settings(sendgrid_fake):
    """The notifier's settings for this module: SendGrid's v3 API at the fake."""
    return asdict(Settings(
        email_backend="sendgrid", sendgrid_api_key="SG.test-key", sendgrid_api_host=sendgrid_fake.url, **FAST_RETRIES
    ))


def publish_created(publish_ticket_event, number):
    return publish_ticket_event(ticket_envelope("ticket.created", ticket_payload(ticket_number=number)))


def settled(notifier_rpc, number, status):
    (delivery,) = wait_for(
        lambda: [d for d in notifier_rpc.get_deliveries(number) if d["status"] == status],
        timeout=10, message=f"{number} {status}",
    )
    return delivery


def assert_v3_shape(body, number):
    assert set(body) == {"from", "subject", "personalizations", "content", "custom_args", "headers"}
    # The thread's headers travel as SendGrid headers, with our Message-ID (no reply token in these events).
    assert body["headers"]["Message-ID"].endswith("@deskline.test>")
    assert body["headers"]["References"].startswith("<ticket-") and body["headers"]["Auto-Submitted"] == "auto-generated"
    assert body["from"] == {"email": "support@deskline.test", "name": "Deskline Support"}
    assert body["personalizations"] == [{"to": [{"email": "kira@example.com", "name": "Kira"}]}]
    assert body["subject"].startswith(f"[{number}] ")
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    assert number in body["content"][0]["value"] and "<html" in body["content"][1]["value"]


def test_accepted_send_records_sendgrids_message_id(notifier_rpc, sendgrid_fake, publish_ticket_event):
    envelope = publish_created(publish_ticket_event, "TKT-00101")
    delivery = settled(notifier_rpc, "TKT-00101", "sent")
    (request,) = sendgrid_fake.requests
    assert request["path"] == "/v3/mail/send" and request["headers"]["Authorization"] == "Bearer SG.test-key"
    assert_v3_shape(request["body"], "TKT-00101")
    assert request["body"]["custom_args"] == {"deskline_delivery": f"{envelope['event_id']}.created"}
    assert delivery["provider_message_id"].startswith("sg-1-") and delivery["attempts"] == 1


def test_429_waits_for_retry_after_then_one_accepted_send(notifier_rpc, sendgrid_fake, publish_ticket_event):
    sendgrid_fake.answer_next(429, {"Retry-After": "1"})
    publish_created(publish_ticket_event, "TKT-00102")
    delivery = settled(notifier_rpc, "TKT-00102", "sent")
    refused, accepted = sendgrid_fake.requests
    # The back-off alone would be ~0.05 s: the second try waited for the server's Retry-After.
    assert accepted["at"] - refused["at"] >= 1.0
    assert delivery["attempts"] == 2 and "429" in delivery["last_error"]
    assert len(sendgrid_fake.accepted) == 1
    assert refused["body"] == accepted["body"]  # the same email, not re-rendered differently
    assert_v3_shape(accepted["body"], "TKT-00102")


def test_5xx_is_retried_until_accepted(notifier_rpc, sendgrid_fake, publish_ticket_event):
    sendgrid_fake.answer_next(500, times=2)
    publish_created(publish_ticket_event, "TKT-00103")
    delivery = settled(notifier_rpc, "TKT-00103", "sent")
    assert len(sendgrid_fake.requests) == 3 and len(sendgrid_fake.accepted) == 1
    assert delivery["attempts"] == 3 and "500" in delivery["last_error"]


def test_400_is_permanent_after_one_request(notifier_rpc, sendgrid_fake, publish_ticket_event):
    sendgrid_fake.answer_next(400)
    publish_created(publish_ticket_event, "TKT-00104")
    delivery = settled(notifier_rpc, "TKT-00104", "failed")
    assert len(sendgrid_fake.requests) == 1 and sendgrid_fake.accepted == []
    assert delivery["attempts"] == 1 and "400" in delivery["last_error"]


def test_several_emails_each_accepted_once(notifier_rpc, sendgrid_fake, publish_ticket_event):
    sendgrid_fake.answer_next(503, times=3)
    numbers = [f"TKT-0020{n}" for n in range(5)]
    for number in numbers:
        publish_created(publish_ticket_event, number)
    for number in numbers:
        settled(notifier_rpc, number, "sent")
    accepted = sorted(body["subject"].split("]")[0][1:] for body in sendgrid_fake.accepted)
    assert accepted == numbers and len(sendgrid_fake.requests) == 8
