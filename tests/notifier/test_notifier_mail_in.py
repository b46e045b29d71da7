"""Email in through the SMTP receiver, over real sockets, into the real tickets service: the full
round trip with Gmail- and Outlook-style replies, each way a mail finds its ticket, and each refusal."""
import base64
import email.policy
import uuid

import pytest
import sqlalchemy as sa

from services.notifier import directory
from services.notifier.models import InboundMessage
from shared.contracts.exceptions import NotFound
from shared.testing import wait_for
from tests.fixtures.inbound_mail import (
    DOMAIN,
    InboundSmtpProcess,
    broken_mime,
    client_snapshot,
    desk_settings,
    gmail_reply,
    outlook_reply,
    plain_mail,
    send_smtp,
)

ACME = uuid.uuid4()
BETA = uuid.uuid4()  # a client whose closed tickets are never reopened by mail (window 0 days)
MAX_BYTES = 15_000_000


@pytest.fixture
def notifier_settings(smtp_sink):
    return desk_settings(smtp_sink, inbound_max_bytes=MAX_BYTES, inbound_sender_hourly_limit=5)


@pytest.fixture
def desk(tickets_service, notifier_service, notifier_sessions):
    with notifier_sessions.begin() as session:
        directory.apply_snapshot(session, client_snapshot(ACME, "acme", [("ada@acme.test", "Ada")]))
        directory.apply_snapshot(session, client_snapshot(BETA, "beta", reopen_window_days=0))
    return notifier_service


@pytest.fixture
def receiver(desk, amqp_uri):
    """The SMTP receiver process, handing over to the notifier by RPC; its port."""
    process = InboundSmtpProcess(amqp_uri, {"INBOUND_MAX_BYTES": str(MAX_BYTES)}).start()
    yield process.port
    assert process.stop() == 0


def new_ticket(tickets_rpc, client=ACME, **overrides):
    return tickets_rpc.create_ticket({"title": "Printer on fire", "description": "It is on fire.",
                                      "client_id": str(client), "customer_name": "Kira",
                                      "customer_email": "kira@example.com", **overrides})


def customer_messages(tickets_rpc, number):
    return [m for m in tickets_rpc.list_messages(number) if m["author_type"] == "customer"]


def inbound(notifier_rpc, status=None, client=ACME):
    """The client's inbound mail, newest first, as its admins see it."""
    return notifier_rpc.list_inbound(str(client), status=status)


def test_round_trip_created_email_gmail_reply_agent_reply_threads_internal_note_stays(
    receiver, tickets_rpc, notifier_rpc, smtp_sink
):
    ticket = new_ticket(tickets_rpc)
    number = ticket["ticket_number"]
    (created,) = smtp_sink.wait_for_count(1)
    reply_to = created.message["Reply-To"]
    assert reply_to == f"support+{ticket['reply_token']}@{DOMAIN}"

    customer_id = "<CAF-round-trip-1@mail.gmail.com>"
    raw = gmail_reply("kira@example.com", reply_to, f"Re: {created.subject}", "Still on fire, please hurry.",
                      in_reply_to=created.message["Message-ID"], references=(created.message["References"],
                                                                            created.message["Message-ID"]),
                      message_id=customer_id)
    code, text = send_smtp(receiver, raw, [reply_to])
    assert code == 250, text
    (message,) = customer_messages(tickets_rpc, number)
    assert message["body"] == "Still on fire, please hurry."
    assert message["channel"] == "email" and message["email_message_id"] == customer_id
    assert message["author_email"] == "kira@example.com" and message["author_name"] == "Kira Nerys"
    assert inbound(notifier_rpc)[0]["matched_by"] == "token"
    # The assignee-less ticket's opted-in agent hears of it.
    notice = wait_for(lambda: [r for r in smtp_sink.received if r.rcpt_tos == ["ada@acme.test"]], message="notice")[0]
    assert "Still on fire" in notice.part("plain")

    tickets_rpc.add_message(number, {"body": "A technician is on the way.", "visibility": "public",
                                     "author_type": "agent", "author_name": "Ada", "author_email": "ada@acme.test",
                                     "channel": "agent"})
    tickets_rpc.add_message(number, {"body": "SECRET: bill them double", "visibility": "internal",
                                     "author_type": "agent", "author_name": "Ada", "channel": "agent"})
    answer = wait_for(lambda: [r for r in smtp_sink.received if r.subject.startswith("Re: ")], message="reply")[0]
    assert answer.rcpt_tos == ["kira@example.com"]
    assert answer.message["In-Reply-To"] == customer_id  # the customer's mail client threads it under theirs
    assert created.message["Message-ID"] in answer.message["References"].split()
    assert "A technician is on the way." in answer.part("plain") and "Still on fire" in answer.part("plain")
    # The reply's Message-ID is on its message too, once sent.
    wait_for(lambda: [m for m in tickets_rpc.list_messages(number)
                      if m["email_message_id"] == answer.message["Message-ID"]], message="reply stamped")
    tickets_rpc.add_message(number, {"body": "Last public word.", "visibility": "public", "author_type": "agent",
                                     "author_name": "Ada", "channel": "agent"})
    wait_for(lambda: len([r for r in smtp_sink.received if r.subject.startswith("Re: ")]) == 2, message="2nd reply")
    assert all("SECRET" not in r.part("plain") + r.part("html") for r in smtp_sink.received)


def test_outlook_reply_found_by_in_reply_to_alone(receiver, tickets_rpc, notifier_rpc, smtp_sink):
    ticket = new_ticket(tickets_rpc)
    (created,) = smtp_sink.wait_for_count(1)
    raw = outlook_reply("kira@example.com", f"acme@{DOMAIN}", "RE: Printer", "Thanks, it works now.",
                        in_reply_to=created.message["Message-ID"])
    assert send_smtp(receiver, raw, [f"acme@{DOMAIN}"])[0] == 250
    (message,) = customer_messages(tickets_rpc, ticket["ticket_number"])
    assert message["body"] == "Thanks, it works now."
    assert inbound(notifier_rpc)[0]["matched_by"] == "headers"


def test_subject_tag_joins_only_from_the_customer_a_spoofed_sender_gets_a_new_ticket(
    receiver, tickets_rpc, notifier_rpc
):
    ticket = new_ticket(tickets_rpc)
    number = ticket["ticket_number"]
    subject = f"Re: [{number}] Printer on fire"
    assert send_smtp(receiver, plain_mail("KIRA@example.com", f"acme@{DOMAIN}", subject, "Any news?"),
                     [f"acme@{DOMAIN}"])[0] == 250
    assert [m["body"] for m in customer_messages(tickets_rpc, number)] == ["Any news?"]
    assert inbound(notifier_rpc)[0]["matched_by"] == "subject"

    spoof = plain_mail("mallory@evil.test", f"acme@{DOMAIN}", subject, "Close it please", )
    assert send_smtp(receiver, spoof, [f"acme@{DOMAIN}"], "mallory@evil.test")[0] == 250
    assert [m["body"] for m in customer_messages(tickets_rpc, number)] == ["Any news?"]
    record = inbound(notifier_rpc)[0]
    assert record["status"] == "created" and record["ticket_number"] != number
    spoofed = tickets_rpc.get_ticket(record["ticket_number"])
    assert spoofed["customer_email"] == "mallory@evil.test" and spoofed["client_id"] == str(ACME)


def test_a_new_mail_to_a_client_address_opens_a_ticket_with_its_attachment(receiver, tickets_rpc, notifier_rpc):
    raw = plain_mail("new.customer@example.org", f"acme@{DOMAIN}", "VPN is down", "Since this morning.",
                     attachments=[("vpn.log", "text/plain", b"error 42\n")])
    assert send_smtp(receiver, raw, [f"acme@{DOMAIN}"], "new.customer@example.org")[0] == 250
    record = inbound(notifier_rpc)[0]
    assert record["status"] == "created" and record["matched_by"] == "new"
    ticket = tickets_rpc.get_ticket(record["ticket_number"])
    assert ticket["channel"] == "email" and ticket["client_id"] == str(ACME) and ticket["title"] == "VPN is down"
    (message,) = tickets_rpc.list_messages(ticket["ticket_number"])
    assert message["body"] == "Since this morning." and message["attachments"][0]["filename"] == "vpn.log"


def test_a_reply_reopens_a_resolved_ticket(receiver, tickets_rpc, smtp_sink):
    ticket = new_ticket(tickets_rpc)
    tickets_rpc.update_ticket(ticket["ticket_number"], {"status": "resolved"})
    raw = plain_mail("kira@example.com", f"support+{ticket['reply_token']}@{DOMAIN}", "Re: x", "It broke again.")
    assert send_smtp(receiver, raw, [f"support+{ticket['reply_token']}@{DOMAIN}"])[0] == 250
    assert tickets_rpc.get_ticket(ticket["ticket_number"])["status"] == "open"


def test_a_reply_to_a_ticket_closed_past_the_window_opens_a_linked_one(receiver, tickets_rpc, notifier_rpc):
    ticket = new_ticket(tickets_rpc, client=BETA)
    tickets_rpc.update_ticket(ticket["ticket_number"], {"status": "closed"})
    address = f"support+{ticket['reply_token']}@{DOMAIN}"
    assert send_smtp(receiver, plain_mail("kira@example.com", address, "Re: x", "Me again."), [address])[0] == 250
    record = inbound(notifier_rpc, client=BETA)[0]
    assert record["status"] == "created" and record["ticket_number"] != ticket["ticket_number"]
    assert inbound(notifier_rpc) == []  # BETA's mail is none of ACME's business
    follow_up = tickets_rpc.get_ticket(record["ticket_number"])
    assert follow_up["related_ticket"] == ticket["ticket_number"]


@pytest.mark.parametrize("headers, mail_from, reason", [
    (("Auto-Submitted: auto-replied", "Subject: Out of office"), "kira@example.com", "auto-reply"),
    (("Precedence: bulk",), "kira@example.com", "auto-reply"),
    (("X-Autoreply: yes",), "kira@example.com", "auto-reply"),
    ((), "", "bounce"),
])
def test_auto_replies_and_bounces_are_taken_and_dropped(receiver, tickets_rpc, notifier_rpc, headers, mail_from, reason):
    ticket = new_ticket(tickets_rpc)
    address = f"support+{ticket['reply_token']}@{DOMAIN}"
    raw = plain_mail("kira@example.com", address, "Re: x", "I am away", extra_headers=headers)
    assert send_smtp(receiver, raw, [address], mail_from)[0] == 250  # taken: a refusal would bounce back to us
    assert customer_messages(tickets_rpc, ticket["ticket_number"]) == []
    assert inbound(notifier_rpc)[0]["status"] == "ignored" and inbound(notifier_rpc)[0]["reason"] == reason


def test_our_own_mail_coming_back_is_a_loop(receiver, tickets_rpc, notifier_rpc, smtp_sink):
    ticket = new_ticket(tickets_rpc)
    (created,) = smtp_sink.wait_for_count(1)
    # A forwarding rule that sends our email back to the desk.
    echoed = created.message.as_bytes(policy=email.policy.SMTP)
    assert send_smtp(receiver, echoed, [f"acme@{DOMAIN}"], "support@deskline.test")[0] == 250
    assert inbound(notifier_rpc)[0]["reason"] == "loop"
    assert customer_messages(tickets_rpc, ticket["ticket_number"]) == []


def test_unknown_recipients_are_refused(receiver, notifier_rpc, notifier_sessions):
    raw = plain_mail("kira@example.com", f"nobody@{DOMAIN}", "Hi", "Hello")
    code, text = send_smtp(receiver, raw, ["someone@elsewhere.test"])
    assert code == 550  # never a relay for another domain
    code, text = send_smtp(receiver, raw, [f"nobody@{DOMAIN}"])
    assert code == 550 and "unknown recipient" in text
    # Recorded, but no client's: no admin lists it.
    with notifier_sessions() as session:
        (row,) = session.scalars(sa.select(InboundMessage)).all()
    assert row.status == "refused" and row.client_id is None
    assert inbound(notifier_rpc) == [] and inbound(notifier_rpc, client=BETA) == []


def test_oversize_mail_and_a_20_mb_attachment_are_refused_552(receiver, notifier_rpc):
    big = plain_mail("kira@example.com", f"acme@{DOMAIN}", "Video", "See the video",
                     attachments=[("video.mp4", "video/mp4", b"\0" * (20 * 1024 * 1024))])
    code, text = send_smtp(receiver, big, [f"acme@{DOMAIN}"])
    assert code == 552, text
    # Under the size limit but over the attachments' 10 MB: refused by the guards, recorded.
    eleven = plain_mail("kira@example.com", f"acme@{DOMAIN}", "Logs", "Logs",
                        attachments=[("a.bin", "application/octet-stream", b"\1" * (10_500_000))])
    code, text = send_smtp(receiver, eleven, [f"acme@{DOMAIN}"])
    assert code == 552 and "attachments too large" in text
    assert inbound(notifier_rpc)[0]["status"] == "refused"


def test_malformed_mime_is_kept_for_admins_not_lost(receiver, notifier_rpc):
    raw = broken_mime("kira@example.com", f"acme@{DOMAIN}")
    assert send_smtp(receiver, raw, [f"acme@{DOMAIN}"])[0] == 250
    (kept,) = inbound(notifier_rpc, "unparseable")
    assert kept["has_raw"] and "raw_b64" not in kept
    assert base64.b64decode(notifier_rpc.get_inbound_raw(str(ACME), kept["id"])).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert "broken MIME" in kept["reason"]
    # Another client's admin neither lists it nor reads it.
    assert inbound(notifier_rpc, "unparseable", client=BETA) == []
    with pytest.raises(NotFound):
        notifier_rpc.get_inbound_raw(str(BETA), kept["id"])


def test_messages_per_sender_per_hour_are_limited(receiver, notifier_rpc):
    codes = [send_smtp(receiver, plain_mail("flood@example.org", f"acme@{DOMAIN}", f"Flood {n}", "x"),
                       [f"acme@{DOMAIN}"], "flood@example.org")[0] for n in range(6)]
    assert codes == [250] * 5 + [451]
