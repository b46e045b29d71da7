"""SendGrid Inbound Parse through a real HTTP socket: a multipart POST as SendGrid sends it (the raw
MIME in `email`, or the parsed fields and attachment files), into the real notifier and tickets."""
import json
import threading
import uuid

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from services.notifier import directory
from services.tracker_gateway.accounts.models import Client
from shared.testing import free_port, wait_for
from tests.fixtures.inbound_mail import DOMAIN, broken_mime, client_snapshot, desk_settings, outlook_reply, plain_mail


@pytest.fixture
def notifier_settings(smtp_sink):
    return desk_settings(smtp_sink)


@pytest.fixture
def gateway_settings(gateway_settings):
    return {**gateway_settings, "INBOUND_EMAIL_DOMAIN": DOMAIN, "RPC_TIMEOUT": 15.0}


@pytest.fixture
def acme(tenants, gateway_engine, notifier_sessions):
    tenant = tenants[0]
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, client_snapshot(tenant.client_id, tenant.slug))
    with Session(gateway_engine) as session:
        secret = session.scalar(sa.select(Client.inbound_secret).where(Client.slug == tenant.slug))
    assert secret and len(secret) >= 40
    return tenant, secret


@pytest.fixture
def hook_url(gateway_app, tickets_service, notifier_service):
    port = free_port()
    server = make_server("127.0.0.1", port, gateway_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield lambda secret: f"http://127.0.0.1:{port}/hooks/sendgrid/inbound/{secret}"
    server.shutdown()


def sendgrid_raw(raw, to, sender="kira@example.com"):
    """Inbound Parse's form with "POST the raw, full MIME message" ticked."""
    return {"email": raw.decode(), "to": to, "from": sender, "subject": "ignored when raw is given",
            "envelope": json.dumps({"to": [to], "from": sender}), "charsets": json.dumps({"email": "UTF-8"}),
            "SPF": "pass", "dkim": "{@example.com : pass}", "sender_ip": "203.0.113.9"}


def post(url, data, files=None):
    # `files` makes requests send multipart/form-data, as SendGrid does.
    return requests.post(url, data=data, files=files or {"placeholder": ("", b"")}, timeout=30)


def follow_live_stream(url, headers, seen):
    """The agent console's live stream (SSE), each line into `seen`, until the server ends it."""
    try:
        with requests.get(url, headers=headers, stream=True, timeout=(5, 60)) as response:
            for line in response.iter_lines(decode_unicode=True):
                seen.append(line)
    except requests.RequestException:
        pass


def test_a_reply_through_the_webhook_joins_its_ticket_reaches_the_live_console_and_the_agent_answer_threads(
    acme, hook_url, tickets_rpc, notifier_rpc, smtp_sink, auth_headers
):
    tenant, secret = acme
    seen = []
    live_url = hook_url(secret).split("/hooks/")[0] + "/api/live?feeds=tickets"
    threading.Thread(target=follow_live_stream, args=(live_url, auth_headers(tenant), seen), daemon=True).start()
    wait_for(lambda: "event: ready" in seen, timeout=20, message="the live stream ready")
    ticket = tickets_rpc.create_ticket({"title": "Printer on fire", "description": "x", "client_id": tenant.client_id,
                                        "customer_name": "Kira", "customer_email": "kira@example.com"})
    (created,) = smtp_sink.wait_for_count(1)
    reply_to = created.message["Reply-To"]
    customer_id = f"<DB{uuid.uuid4().hex}@outlook.com>"
    raw = outlook_reply("kira@example.com", reply_to, f"RE: {created.subject}", "Works again, thanks!",
                        in_reply_to=created.message["Message-ID"], message_id=customer_id)
    answer = post(hook_url(secret), sendgrid_raw(raw, reply_to))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "added", "reason": None, "ticket_number": ticket["ticket_number"],
                             "matched_by": "token"}
    (message,) = [m for m in tickets_rpc.list_messages(ticket["ticket_number"]) if m["author_type"] == "customer"]
    assert message["body"] == "Works again, thanks!" and message["email_message_id"] == customer_id
    # The agent's console hears of it live (the tickets feed of its stream).
    wait_for(lambda: any("Works again, thanks!" in line for line in seen), timeout=15, message="live event")
    assert "event: ticket.message_added" in seen
    tickets_rpc.add_message(ticket["ticket_number"], {"body": "Glad to hear.", "visibility": "public",
                                                      "author_type": "agent", "author_name": "Ada", "channel": "agent"})
    email = wait_for(lambda: [r for r in smtp_sink.received if r.subject.startswith("Re: ")], message="reply")[0]
    assert email.message["In-Reply-To"] == customer_id
    assert notifier_rpc.list_inbound(tenant.client_id)[0]["source"] == "sendgrid"


def test_parsed_fields_without_the_raw_message_open_a_ticket_with_the_attachment(acme, hook_url, tickets_rpc):
    tenant, secret = acme
    headers = ("Received: from mx.example.org\nFrom: New Person <new@example.org>\nTo: acme@" + DOMAIN +
               "\nSubject: Cannot log in\nMessage-ID: <parsed-1@example.org>\n")
    data = {"headers": headers, "text": "My password stopped working.", "html": "<p>My password stopped working.</p>",
            "from": "New Person <new@example.org>", "to": f"acme@{DOMAIN}", "subject": "Cannot log in",
            "envelope": json.dumps({"to": [f"acme@{DOMAIN}"], "from": "new@example.org"}), "attachments": "1",
            "attachment-info": json.dumps({"attachment1": {"filename": "screen.png", "type": "image/png"}})}
    answer = post(hook_url(secret), data, files={"attachment1": ("screen.png", b"\x89PNG fake", "image/png")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "created" and body["matched_by"] == "new"
    ticket = tickets_rpc.get_ticket(body["ticket_number"])
    assert ticket["client_id"] == tenant.client_id and ticket["customer_email"] == "new@example.org"
    (message,) = tickets_rpc.list_messages(ticket["ticket_number"])
    assert message["body"] == "My password stopped working."
    assert [(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]] == [
        ("screen.png", "image/png", 9)]


def test_mail_to_the_clients_own_domain_lands_in_the_client_of_the_url(acme, hook_url, tickets_rpc):
    tenant, secret = acme
    raw = plain_mail("walkin@example.org", "help@acme-corp.example", "Order 42", "Where is it?")
    answer = post(hook_url(secret), sendgrid_raw(raw, "help@acme-corp.example", "walkin@example.org"))
    assert answer.status_code == 200 and answer.json()["status"] == "created"
    assert tickets_rpc.get_ticket(answer.json()["ticket_number"])["client_id"] == tenant.client_id


def test_an_unknown_secret_is_404_and_nothing_is_taken(acme, hook_url, notifier_rpc):
    raw = plain_mail("kira@example.com", f"acme@{DOMAIN}", "Hi", "Hello")
    answer = post(hook_url("not-the-secret"), sendgrid_raw(raw, f"acme@{DOMAIN}"))
    assert answer.status_code == 404 and answer.json()["error"]
    assert notifier_rpc.list_inbound(acme[0].client_id) == []


def test_auto_replies_and_broken_mime_are_answered_200_ignored_or_kept(acme, hook_url, notifier_rpc):
    tenant, secret = acme
    away = plain_mail("kira@example.com", f"acme@{DOMAIN}", "Out of office", "Away",
                      extra_headers=("Auto-Submitted: auto-replied",))
    assert post(hook_url(secret), sendgrid_raw(away, f"acme@{DOMAIN}")).json()["status"] == "ignored"
    broken = post(hook_url(secret), sendgrid_raw(broken_mime("kira@example.com", f"acme@{DOMAIN}"), f"acme@{DOMAIN}"))
    assert broken.status_code == 200 and broken.json()["status"] == "unparseable"
    (kept,) = notifier_rpc.list_inbound(tenant.client_id, status="unparseable")
    assert kept["has_raw"] and notifier_rpc.get_inbound_raw(tenant.client_id, kept["id"])


def test_a_20_mb_attachment_through_the_webhook_is_a_recorded_refusal(acme, hook_url, notifier_rpc, tickets_rpc):
    tenant, secret = acme
    big = plain_mail("kira@example.com", f"acme@{DOMAIN}", "Video", "See the video",
                     attachments=[("video.mp4", "video/mp4", b"\0" * (20 * 1024 * 1024))])
    answer = post(hook_url(secret), sendgrid_raw(big, f"acme@{DOMAIN}"))
    assert answer.status_code == 200  # answered, so SendGrid does not post it again for days
    assert answer.json()["status"] == "refused" and "too large" in answer.json()["reason"]
    (record,) = notifier_rpc.list_inbound(tenant.client_id)
    assert record["status"] == "refused" and record["has_raw"] is False and record["size"] > 20 * 1024 * 1024
