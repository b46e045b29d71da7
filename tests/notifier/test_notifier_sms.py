"""SMS updates through the official twilio library against a fake Twilio Messages API over a real
socket: sent once per event (a redelivery sends nothing more), only with a phone and the client's
setting on, retried on 5xx, a refused number (400, error 21211) recorded as failed and not retried."""
import collections
import json
import threading
import time
import urllib.parse
import uuid
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notifier import directory
from services.notifier.config import ConfigurationError, Settings
from shared.testing import TRACKING_LINKS, wait_for
from tests.fixtures.notifier import FAST_RETRIES, deliveries_in, ticket_envelope, ticket_payload

SID, TOKEN, FROM = "AC" + "0" * 32, "twilio-test-token", "+15005550006"
CLIENT_ID = str(uuid.uuid4())
PHONE = "+14155550123"


class TwilioFake:
    """Answers POST /2010-04-01/Accounts/<sid>/Messages.json as Twilio does: 201 and a message (sid SM...),
    or what `answer_next` scripts (status, Twilio error code); keeps every request (form and headers)."""

    def __init__(self):
        self.requests, self.accepted, self._scripted = [], [], collections.deque()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
                form = {key: values[0] for key, values in form.items()}
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form, "at": time.time()})
                status, code = fake._scripted.popleft() if fake._scripted else (201, None)
                if status == 201:
                    sid = f"SM{uuid.uuid4().hex}"
                    fake.accepted.append(form)
                    body = {"sid": sid, "account_sid": SID, "to": form.get("To"), "from": form.get("From"),
                            "body": form.get("Body"), "status": "queued", "num_segments": "1",
                            "api_version": "2010-04-01", "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json"}
                else:
                    body = {"code": code, "message": f"scripted error {code}", "status": status,
                            "more_info": f"https://www.twilio.com/docs/errors/{code}"}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer_next(self, status, code=None, times=1):
        self._scripted.extend([(status, code)] * times)


@pytest.fixture
def twilio_fake():
    fake = TwilioFake()
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def notifier_settings(smtp_sink, twilio_fake):
    return asdict(Settings(email_backend="smtp", smtp_host="127.0.0.1", smtp_port=smtp_sink.port,
                           sms_backend="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN, twilio_from=FROM,
                           twilio_api_base=twilio_fake.url, **FAST_RETRIES))


def set_client(sessions, sms_updates):
    with sessions.begin() as session:
        directory.apply_snapshot(session, {
            "client": {"id": CLIENT_ID, "slug": "acme", "name": "Acme", "inbound_address": None,
                       "settings": {"reopen_window_days": 14, "sms_updates": sms_updates}},
            "agents": []})


def sms_deliveries(sessions, number):
    return [d for d in deliveries_in(sessions, ticket_number=number) if d.kind.startswith("sms_")]


def settled(sessions, number, kind, status):
    return wait_for(lambda: next((d for d in sms_deliveries(sessions, number) if d.kind == kind and d.status == status),
                                 None), timeout=10, message=f"{number} {kind} {status}")


def created(number, **ticket):
    return ticket_envelope("ticket.created", ticket_payload(**{"ticket_number": number, "client_id": CLIENT_ID,
                                                               "customer_phone": PHONE, **ticket}))


def test_created_and_resolved_are_texted_once_each_with_number_and_signed_link(
        notifier_service, notifier_sessions, twilio_fake, smtp_sink, publish_ticket_event):
    set_client(notifier_sessions, True)
    envelope = publish_ticket_event(created("TKT-00301"))
    sent = settled(notifier_sessions, "TKT-00301", "sms_created", "sent")
    (request,) = twilio_fake.requests
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["headers"]["Authorization"].startswith("Basic ")
    form = request["form"]
    assert (form["To"], form["From"]) == (PHONE, FROM) and "TKT-00301" in form["Body"]
    said, link = form["Body"].split(" Track it: ")
    assert said == "Deskline Support: we received your request TKT-00301."
    assert link.startswith("https://desk.example.com/track-ticket/")
    assert TRACKING_LINKS.read_token(link.rsplit("/", 1)[1]) == ("TKT-00301", "kira@example.com")
    assert sent.provider_message_id.startswith("SM") and sent.recipient == PHONE and sent.attempts == 1
    # The redelivered event (a relay's re-publish): nothing more is sent.
    publish_ticket_event(envelope)
    smtp_sink.wait_for_count(1)
    resolved = ticket_payload(ticket_number="TKT-00301", client_id=CLIENT_ID, customer_phone=PHONE, status="resolved")
    publish_ticket_event(ticket_envelope("ticket.updated", resolved, changes={"status": {"from": "open", "to": "resolved"}}))
    settled(notifier_sessions, "TKT-00301", "sms_resolved", "sent")
    assert "your ticket TKT-00301 has been resolved." in twilio_fake.accepted[-1]["Body"]
    smtp_sink.wait_for_count(2)  # the e-mails go as before, beside the texts
    assert len(twilio_fake.requests) == 2 and len(sms_deliveries(notifier_sessions, "TKT-00301")) == 2


def test_no_text_without_a_phone_with_sms_off_or_for_a_plain_update(
        notifier_service, notifier_sessions, twilio_fake, smtp_sink, publish_ticket_event):
    set_client(notifier_sessions, False)
    publish_ticket_event(created("TKT-00311"))
    wait_for(lambda: deliveries_in(notifier_sessions, ticket_number="TKT-00311", kind="created"), timeout=10,
             message="TKT-00311 handled while SMS was off")
    set_client(notifier_sessions, True)
    publish_ticket_event(created("TKT-00312", customer_phone=None))
    publish_ticket_event(ticket_envelope("ticket.updated", ticket_payload(
        ticket_number="TKT-00313", client_id=CLIENT_ID, customer_phone=PHONE, priority="high"),
        changes={"priority": {"from": "medium", "to": "high"}}))
    publish_ticket_event(created("TKT-00314"))  # sent: shows the others were handled before it
    settled(notifier_sessions, "TKT-00314", "sms_created", "sent")
    smtp_sink.wait_for_count(3)
    assert [r["form"]["Body"].split(": ", 1)[1][:40] for r in twilio_fake.requests] == [
        "we received your request TKT-00314. Trac"]
    assert all(sms_deliveries(notifier_sessions, n) == [] for n in ("TKT-00311", "TKT-00312", "TKT-00313"))


def test_5xx_is_retried_until_accepted_and_sent_once(notifier_service, notifier_sessions, twilio_fake,
                                                     publish_ticket_event):
    set_client(notifier_sessions, True)
    twilio_fake.answer_next(503, 20003, times=2)
    publish_ticket_event(created("TKT-00321"))
    delivery = settled(notifier_sessions, "TKT-00321", "sms_created", "sent")
    assert len(twilio_fake.requests) == 3 and len(twilio_fake.accepted) == 1
    assert delivery.attempts == 3 and "503" in delivery.last_error
    assert twilio_fake.requests[0]["form"] == twilio_fake.requests[2]["form"]  # the same text every try


def test_a_refused_number_is_recorded_as_failed_and_not_retried(notifier_service, notifier_sessions, twilio_fake,
                                                                publish_ticket_event):
    set_client(notifier_sessions, True)
    twilio_fake.answer_next(400, 21211)
    publish_ticket_event(created("TKT-00331"))
    delivery = settled(notifier_sessions, "TKT-00331", "sms_created", "failed")
    assert delivery.attempts == 1 and "21211" in delivery.last_error and "400" in delivery.last_error
    assert delivery.next_attempt_at is None  # nothing for the retry timer
    # A later text goes through meanwhile (the timer has ticked many times): the refused one was not tried again.
    publish_ticket_event(created("TKT-00332"))
    settled(notifier_sessions, "TKT-00332", "sms_created", "sent")
    assert [r["form"]["Body"].split()[-4] for r in twilio_fake.requests] == ["TKT-00331.", "TKT-00332."]
    assert sms_deliveries(notifier_sessions, "TKT-00331")[0].status == "failed"


def test_twilio_needs_its_credentials_and_a_known_backend():
    with pytest.raises(ConfigurationError, match="TWILIO_ACCOUNT_SID"):
        Settings(sms_backend="twilio", twilio_account_sid=SID).check()
    with pytest.raises(ConfigurationError, match="SMS_BACKEND"):
        Settings(sms_backend="pigeon").check()
