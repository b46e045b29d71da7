"""Email in, the pure rules: parsing real clients' replies, cutting quoted history, guards, addresses."""
import pytest

from services.notifier.inbound import guards, matching, parsing
from services.notifier.inbound.quoting import cut_quoted
from tests.fixtures.inbound_mail import broken_mime, gmail_reply, outlook_reply, plain_mail

DOMAIN = "support.deskline.test"
TOKEN = "abcdefghijklmnopqrstuvwx"


def test_gmail_reply_keeps_the_new_text_and_the_whole_original():
    raw = gmail_reply("Kira@Example.com", f"support+{TOKEN}@{DOMAIN}", "Re: [TKT-00012] Printer on fire",
                      "It is still on fire.\nAny news?", in_reply_to="<a@deskline.test>",
                      references=("<root@deskline.test>", "<a@deskline.test>"))
    mail = parsing.parse(raw)
    assert mail.body == "It is still on fire.\nAny news?"
    assert mail.quote_cut and "We received your request" in mail.original
    assert mail.sender == "Kira@example.com" and mail.sender_name == "Kira Nerys"
    assert mail.thread_ids == ("<a@deskline.test>", "<root@deskline.test>")
    assert mail.recipients == (f"support+{TOKEN}@{DOMAIN}",)


def test_outlook_html_reply_becomes_text_without_history_script_or_images():
    raw = outlook_reply("kira@example.com", f"acme@{DOMAIN}", "RE: [TKT-00012] Printer on fire",
                        "Thanks, it works <b>now</b>.")
    mail = parsing.parse(raw)
    assert mail.body == "Thanks, it works now."
    assert "Sent:" in mail.original and mail.quote_cut
    assert "<" not in mail.body and "alert" not in mail.original and "pixel.gif" not in mail.original


@pytest.mark.parametrize("text, expected", [
    ("Fine now.\n\n-----Original Message-----\nFrom: a\nSent: b\n\nold", "Fine now."),
    ("Fine now.\n\nFrom: Support <s@x.test>\nSent: Monday\nTo: k@x.test\nSubject: s\n\nold", "Fine now."),
    ("Fine now.\nOn Mon, 30 Nov 2026, Support <s@x.test> wrote:\n> old\n", "Fine now."),
    ("Le lun. 30 nov. 2026, Support a écrit :\n> vieux", "Le lun. 30 nov. 2026, Support a écrit :\n> vieux"),
    ("Fine now.\n\n> old\n> older\n", "Fine now."),
    ("> I asked this\nand here is my answer\n> and more\nend", "> I asked this\nand here is my answer\n> and more\nend"),
    ("From: my colleague says hello\nall good", "From: my colleague says hello\nall good"),
])
def test_quote_cutting(text, expected):
    assert cut_quoted(text)[0] == expected


def test_a_message_that_is_only_a_quote_is_kept_whole():
    assert cut_quoted("-----Original Message-----\nFrom: a\nold")[0].startswith("-----Original Message-----")


def test_attachments_are_read_and_named_safely():
    raw = plain_mail("kira@example.com", f"acme@{DOMAIN}", "Logs", "See attached.",
                     attachments=[("../../etc/passwd.txt", "text/plain", b"x" * 100), ("a.png", "image/png", b"\x89PNG")])
    mail = parsing.parse(raw)
    assert [(a.filename, a.content_type, a.size) for a in mail.attachments] == [
        (".._.._etc_passwd.txt", "text/plain", 100), ("a.png", "image/png", 4)]
    assert mail.body == "See attached."


@pytest.mark.parametrize("raw", [b"", b"\x00\x01garbage", broken_mime("kira@example.com", f"acme@{DOMAIN}"),
                                 b"Subject: no sender\r\n\r\nhello\r\n"])
def test_unreadable_mail_raises_unparseable(raw):
    with pytest.raises(parsing.Unparseable):
        parsing.parse(raw)


def _mail(*headers, sender="kira@example.com"):
    return parsing.parse(plain_mail(sender, f"acme@{DOMAIN}", "Hi", "Body", extra_headers=headers))


@pytest.mark.parametrize("headers, sender, envelope, reason", [
    (("Auto-Submitted: auto-replied",), "kira@example.com", None, "auto-reply"),
    (("Auto-Submitted: no",), "kira@example.com", None, None),
    (("Precedence: bulk",), "kira@example.com", None, "auto-reply"),
    (("Precedence: junk",), "kira@example.com", None, "auto-reply"),
    (("X-Autoreply: yes",), "kira@example.com", None, "auto-reply"),
    (("Return-Path: <>",), "kira@example.com", None, "bounce"),
    ((), "kira@example.com", "", "bounce"),
    ((), "MAILER-DAEMON@mx.example.com", None, "bounce"),
    (("X-Failed-Recipients: kira@example.com",), "kira@example.com", None, "bounce"),
    ((), "support@deskline.test", None, "loop"),
    (("X-Deskline-Delivery: 1.created",), "kira@example.com", None, "loop"),
    ((), "kira@example.com", "kira@example.com", None),
])
def test_guards_ignore_auto_replies_bounces_and_loops(headers, sender, envelope, reason):
    mail = _mail(*headers, sender=sender)
    assert guards.ignore_reason(mail, envelope, our_addresses=("support@deskline.test",)) == reason


def test_our_own_message_id_is_a_loop():
    assert guards.ignore_reason(_mail(), None, is_our_message_id=True) == "loop"


def test_limits():
    limits = guards.Limits(max_bytes=1000, max_attachments=1, max_attachment_bytes=10, per_sender_per_hour=2)
    assert guards.size_refusal(1001, limits) and not guards.size_refusal(1000, limits)
    many = parsing.parse(plain_mail("k@example.com", "a@b.test", "s", "b",
                                    attachments=[("a", "text/plain", b"1"), ("b", "text/plain", b"2")]))
    big = parsing.parse(plain_mail("k@example.com", "a@b.test", "s", "b", attachments=[("a", "text/plain", b"1" * 11)]))
    assert "too many attachments" in guards.attachment_refusal(many, limits)
    assert "attachments too large" in guards.attachment_refusal(big, limits)
    assert guards.rate_refusal(2, limits) and not guards.rate_refusal(1, limits)


def test_recipients_give_tokens_and_slugs_of_our_domain_only():
    addressed = matching.read_recipients(
        [f"<support+{TOKEN}@{DOMAIN.upper()}>", f"acme@{DOMAIN}", "acme@elsewhere.test", f"support+short@{DOMAIN}",
         f"support@{DOMAIN}"], DOMAIN)
    assert addressed.tokens == (TOKEN,) and addressed.slugs == ("acme",)
    assert len(addressed.ours) == 4


@pytest.mark.parametrize("subject, number", [
    ("Re: [TKT-00012] Printer", "TKT-00012"), ("RE: [tkt-123456] x", "TKT-123456"),
    ("TKT-00012 without brackets", None), ("[TKT-12] too short", None),
])
def test_subject_tag(subject, number):
    assert matching.subject_number(subject) == number


def test_inbound_statuses_are_the_gateways_filter_values_and_the_outcome_names_its_client():
    from services.notifier.inbound import intake
    from shared.contracts.enums import INBOUND_STATUSES

    assert INBOUND_STATUSES == (intake.ADDED, intake.CREATED, intake.IGNORED, intake.REFUSED, intake.UNPARSEABLE,
                                intake.FAILED)
    outcome = intake.Outcome(intake.CREATED, ticket_number="TKT-00001", matched_by="new", client_id="c1")
    assert outcome.as_dict()["client_id"] == "c1"


def test_the_sendgrid_hook_url_joins_the_public_base_and_the_secret():
    from services.tracker_gateway.hooks.sendgrid import hook_url

    assert hook_url("https://desk.example/", "s3cret") == "https://desk.example/hooks/sendgrid/inbound/s3cret"
