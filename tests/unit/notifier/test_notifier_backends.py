"""Each backend against a real server: aiosmtpd for SMTP, an HTTP server for SendGrid's v3 API."""
import io
import smtplib

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from services.notifier import emails
from services.notifier.backends import (
    ConsoleBackend,
    PermanentError,
    SendGridBackend,
    SmtpBackend,
    TransientError,
    classify_http_status,
    retry_after_seconds,
)
from services.notifier.config import Settings
from tests.fixtures.notifier import FAST_RETRIES, free_port, ticket_envelope, ticket_payload

SETTINGS = Settings(**FAST_RETRIES)


def an_email(**ticket):
    plan = emails.plan(ticket_envelope("ticket.created", ticket_payload(**ticket)))
    return emails.compose(plan.kind, plan.context, plan.recipient, plan.event_id, SETTINGS)


def smtp(port, **overrides):
    return SmtpBackend(Settings(**{**FAST_RETRIES, "smtp_port": port, **overrides}))


def test_smtp_delivers_both_parts_and_returns_the_servers_queue_id(smtp_sink):
    mail = an_email(title="Hello")
    assert smtp(smtp_sink.port).send(mail) == "Q00001"
    (received,) = smtp_sink.received
    assert received.mail_from == "support@deskline.test" and received.rcpt_tos == ["kira@example.com"]
    assert received.subject == mail.subject and received.message["Message-ID"] == mail.message_id
    assert received.part("plain") == mail.text and received.part("html") == mail.html


@pytest.mark.parametrize("reply", ["421 4.3.0 Closing, try later", "451 4.3.0 Try again later", "452 4.3.1 Full"])
def test_smtp_4xx_is_transient(smtp_sink, reply):
    smtp_sink.refuse_next(reply)
    with pytest.raises(TransientError, match=reply.split()[0]):
        smtp(smtp_sink.port).send(an_email())
    assert smtp_sink.received == []


def test_smtp_5xx_is_permanent(smtp_sink):
    smtp_sink.refuse_recipient("gone@example.com", "550 5.1.1 No such user")
    with pytest.raises(PermanentError, match="550 5.1.1 No such user"):
        smtp(smtp_sink.port).send(an_email(customer_email="gone@example.com"))
    smtp_sink.refuse_next("554 5.7.1 Rejected as spam")
    with pytest.raises(PermanentError, match="554"):
        smtp(smtp_sink.port).send(an_email())


def test_smtp_connection_refused_is_transient():
    with pytest.raises(TransientError, match="connection failed"):
        smtp(free_port()).send(an_email())


def test_smtp_starttls_when_asked_never_falls_back_to_clear_text(smtp_sink):
    with pytest.raises(TransientError, match="STARTTLS"):
        smtp(smtp_sink.port, smtp_starttls=True).send(an_email())
    assert smtp_sink.data_commands == 0


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_logs_in_when_credentials_are_given_and_wrong_ones_are_retried():
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"right", handled=False)

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = free_port()
    # A test server without TLS, so AUTH over clear text is allowed here only.
    controller = Controller(
        Keep(), hostname="127.0.0.1", port=port, authenticator=authenticator,
        auth_require_tls=False, auth_required=True,
    )
    controller.start()
    try:
        assert smtp(port, smtp_username="desk", smtp_password="right").send(an_email()) is None
        with pytest.raises(TransientError, match="authentication failed"):
            smtp(port, smtp_username="desk", smtp_password="wrong").send(an_email())
        with pytest.raises(TransientError):  # no credentials: 530 authentication required
            smtp(port).send(an_email())
    finally:
        controller.stop()
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) before giving up.
    assert seen[0] == (b"desk", b"right") and set(seen[1:]) == {(b"desk", b"wrong")}


def test_a_failing_quit_after_an_accepted_message_is_still_a_success(smtp_sink, monkeypatch):
    quits = []

    def broken_quit(self):
        quits.append(self)
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(smtplib.SMTP, "quit", broken_quit)
    unpooled = SmtpBackend(Settings(**{**FAST_RETRIES, "smtp_port": smtp_sink.port}), pool_size=0)
    assert unpooled.send(an_email()) == "Q00001" and len(quits) == 1


def test_smtp_connections_are_reused_between_emails(smtp_sink):
    backend = smtp(smtp_sink.port)
    for _ in range(3):
        backend.send(an_email())
    smtp_sink.refuse_next("451 4.3.0 Try later")
    with pytest.raises(TransientError):
        backend.send(an_email())
    backend.send(an_email())  # the refused transaction was reset, the session kept
    assert len(smtp_sink.received) == 4 and len(set(smtp_sink.peers)) == 1
    backend.close()


def test_a_pooled_connection_the_server_dropped_is_replaced_without_losing_the_email(smtp_sink):
    backend = smtp(smtp_sink.port)
    backend.send(an_email(title="before"))
    smtp_sink.restart()  # the server drops the idle connection
    backend.send(an_email(title="after"))
    assert [r.subject.rsplit(": ", 1)[1] for r in smtp_sink.received] == ["before", "after"]
    assert len(set(smtp_sink.peers)) == 2 and smtp_sink.data_commands == 2


def test_idle_connections_are_not_reused_after_the_idle_limit(smtp_sink):
    backend = SmtpBackend(Settings(**{**FAST_RETRIES, "smtp_port": smtp_sink.port}), idle_seconds=0)
    backend.send(an_email())
    backend.send(an_email())
    assert len(set(smtp_sink.peers)) == 2


def sendgrid(fake, **overrides):
    return SendGridBackend(Settings(**{**FAST_RETRIES, "sendgrid_api_key": "SG.test-key",
                                       "sendgrid_api_host": fake.url, **overrides}))


def test_sendgrid_posts_the_v3_mail_send_payload_and_returns_the_message_id(sendgrid_fake):
    mail = an_email(customer_name="Kira V")
    message_id = sendgrid(sendgrid_fake).send(mail)
    (request,) = sendgrid_fake.requests
    assert message_id.startswith("sg-1-")
    assert request["path"] == "/v3/mail/send"
    assert request["headers"]["Authorization"] == "Bearer SG.test-key"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "from": {"email": "support@deskline.test", "name": "Deskline Support"},
        "subject": mail.subject,
        "personalizations": [{"to": [{"email": "kira@example.com", "name": "Kira V"}]}],
        "content": [{"type": "text/plain", "value": mail.text}, {"type": "text/html", "value": mail.html}],
        "custom_args": {"deskline_delivery": mail.reference},
        # Our Message-ID and the marks of machine mail travel as headers (no thread in this bare email).
        "headers": {"Message-ID": mail.message_id, "Auto-Submitted": "auto-generated",
                    "X-Deskline-Delivery": mail.reference},
    }


@pytest.mark.parametrize(
    "status, headers, error, retry_after",
    [
        (429, {"Retry-After": "7"}, TransientError, 7.0),
        (500, {}, TransientError, None),
        (503, {"Retry-After": "2"}, TransientError, 2.0),
        (401, {}, TransientError, None),
        (400, {}, PermanentError, None),
        (413, {}, PermanentError, None),
    ],
)
def test_sendgrid_answers_are_classified(sendgrid_fake, status, headers, error, retry_after):
    sendgrid_fake.answer_next(status, headers)
    with pytest.raises(error) as raised:
        sendgrid(sendgrid_fake).send(an_email())
    assert type(raised.value) is error and raised.value.retry_after == retry_after
    assert str(status) in str(raised.value) and sendgrid_fake.accepted == []


def test_sendgrid_unreachable_is_transient():
    backend = SendGridBackend(Settings(sendgrid_api_key="k", sendgrid_api_host=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(TransientError, match="unreachable"):
        backend.send(an_email())


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds({"Retry-After": "120"}) == 120
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480) == 10
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None
    assert retry_after_seconds({"Retry-After": "99999999"}) == 86400
    assert classify_http_status(429, {}).retry_after is None


def test_console_prints_the_email():
    out = io.StringIO()
    mail = an_email(title="Console check")
    assert ConsoleBackend(SETTINGS, stream=out).send(mail) is None
    printed = out.getvalue()
    assert f"Subject: {mail.subject}" in printed and "To: Kira <kira@example.com>" in printed
    assert mail.text in printed
