"""Delivery backends (e-mail: console, SMTP, SendGrid; SMS: console, Twilio) and how each one's failures
are classified.

`send(email)` (or `send(sms)`) returns the provider's message id (or None) or raises a DeliveryError that says
whether trying again can help: TransientError (with an optional Retry-After) or PermanentError.
"""
import logging
import smtplib
import socket
import ssl
import sys
import time
import urllib.error
from email.utils import parsedate_to_datetime

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Header, Mail, MimeType, ReplyTo, To
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from .emails import threading_headers, to_wire

log = logging.getLogger(__name__)

# A Retry-After beyond this is taken as this: the timer must come back within a day.
RETRY_AFTER_MAX_SECONDS = 86400.0


class DeliveryError(Exception):
    permanent = False

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(DeliveryError):
    """Trying again later may work: connection trouble, 4xx from SMTP, 429 and 5xx from an API."""


class PermanentError(DeliveryError):
    """This email will never go through as it is: a refused address, a rejected request."""

    permanent = True


class ConsoleBackend:
    """Development: print the email (headers and text part) instead of sending it."""

    def __init__(self, settings, stream=None):
        self.stream = stream or sys.stdout

    def send(self, email):
        lines = [
            f"From: {email.sender_name} <{email.sender_email}>",
            f"To: {email.recipient_name or ''} <{email.recipient_email}>".replace(":  <", ": <"),
            f"Subject: {email.subject}",
            f"Message-ID: {email.message_id}",
        ]
        self.stream.write(
            "---------- email (console backend) ----------\n" + "\n".join(lines) + "\n\n"
            + email.text + f"\n[HTML part: {len(email.html)} characters]\n"
            + "---------------------------------------------\n"
        )
        self.stream.flush()
        return None


# 5xx replies about authentication: our configuration is wrong, not the email. Retried (until dead)
# so that fixing the credentials sends what waited.
SMTP_AUTH_CODES = (530, 534, 535, 538)


def classify_smtp_reply(code, reply, what):
    """4xx (and 421 closing) are transient; 5xx permanent, except authentication trouble."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    message = f"SMTP {what} refused: {code} {text}".strip()
    if 500 <= code < 600 and code not in SMTP_AUTH_CODES:
        return PermanentError(message)
    return TransientError(message)


def _queue_id(reply):
    """The server's id for the accepted message ('250 2.0.0 Ok: queued as 4Fx...'), if it says one."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    marker = "queued as "
    index = text.lower().find(marker)
    if index < 0:
        return None
    found = text[index + len(marker):].strip().split()
    return found[0][:255] if found else None


def _quit(smtp):
    """Say goodbye, ignoring how: once DATA was accepted, a failing QUIT must not read as a failed send."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class _Reused(Exception):
    """A pooled connection turned out closed before the server accepted anything: safe to redo."""


class SmtpBackend:
    """SMTP with smtplib, keeping a few connections open between emails.

    Connecting (and STARTTLS, and AUTH) once per connection instead of once per email is most of
    the cost of a send. A pooled connection the server has since closed fails at MAIL, before
    anything was accepted, so that email is simply sent again on a fresh connection.
    """

    def __init__(self, settings, pool_size=10, idle_seconds=30.0):
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.username, self.password = settings.smtp_username, settings.smtp_password
        self.starttls, self.timeout = settings.smtp_starttls, settings.send_timeout
        self.pool_size, self.idle_seconds = pool_size, idle_seconds
        self._idle = []  # (connection, returned at), most recent last; green threads share it

    def send(self, email):
        message = to_wire(email)
        try:
            while True:
                smtp, reused = self._checkout()
                try:
                    queue_id = self._transmit(smtp, message, email, reused)
                except _Reused:
                    smtp.close()
                    continue
                except (DeliveryError, smtplib.SMTPResponseException):
                    self._checkin_after_refusal(smtp)
                    raise
                except BaseException:
                    smtp.close()
                    raise
                self._checkin(smtp)
                return queue_id
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            # Wrong credentials are the operator's to fix, not the email's fault: retry until dead.
            raise TransientError(f"SMTP authentication failed: {exc.smtp_code} {exc.smtp_error!r}") from None
        except smtplib.SMTPResponseException as exc:
            raise classify_smtp_reply(exc.smtp_code, exc.smtp_error, "command") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransientError(f"SMTP server lacks a required extension: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, disconnected
            raise TransientError(f"SMTP connection failed: {exc!r}") from None

    def close(self):
        while self._idle:
            _quit(self._idle.pop()[0])

    def _checkout(self):
        """An idle connection (reused=True) or a new, greeted, authenticated one."""
        now = time.monotonic()
        while self._idle:
            smtp, returned_at = self._idle.pop()
            if now - returned_at < self.idle_seconds:
                return smtp, True
            _quit(smtp)  # idle too long: the server may be about to drop it
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                # Raises SMTPNotSupportedError if the server cannot: never fall back to clear text.
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            _quit(smtp)
            raise
        return smtp, False

    def _checkin(self, smtp):
        if len(self._idle) < self.pool_size:
            self._idle.append((smtp, time.monotonic()))
        else:
            _quit(smtp)

    def _checkin_after_refusal(self, smtp):
        """After a refused MAIL/RCPT/DATA the session still works once reset; a 421 closes it."""
        try:
            if smtp.rset()[0] == 250:
                return self._checkin(smtp)
        except (smtplib.SMTPException, OSError):
            pass
        smtp.close()

    def _transmit(self, smtp, message, email, reused):
        """MAIL, RCPT, DATA by hand: smtplib's sendmail drops the DATA reply with the queue id."""
        try:
            code, reply = smtp.mail(email.sender_email)
        except (smtplib.SMTPServerDisconnected, OSError):
            if reused:
                raise _Reused() from None
            raise
        if code == 421 and reused:
            raise _Reused()  # the server is closing this old session; a new one may be welcome
        if code != 250:
            raise classify_smtp_reply(code, reply, "sender")
        code, reply = smtp.rcpt(email.recipient_email)
        if code not in (250, 251):
            raise classify_smtp_reply(code, reply, "recipient")
        try:
            # `message` has CRLF line ends: smtplib fixes them for str but sends bytes as given.
            code, reply = smtp.data(message)
        except smtplib.SMTPDataError as exc:
            raise classify_smtp_reply(exc.smtp_code, exc.smtp_error, "data") from None
        if code != 250:
            raise classify_smtp_reply(code, reply, "message")
        return _queue_id(reply)


def retry_after_seconds(headers, now=None):
    """Retry-After as seconds (delta or HTTP date); None if absent or unreadable."""
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    value = str(value).strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (now if now is not None else time.time())
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_SECONDS)


def classify_http_status(status, headers=None, body=b""):
    """429 (with Retry-After) and 5xx transient; 401/403 transient (a key the operator must fix);
    any other 4xx (400: the request is wrong) permanent."""
    detail = body.decode(errors="replace")[:500] if isinstance(body, bytes) else str(body or "")[:500]
    message = f"SendGrid answered {status}: {detail}".strip()
    if status == 429:
        return TransientError(message, retry_after=retry_after_seconds(headers))
    if status >= 500 or status in (401, 403, 408):
        return TransientError(message, retry_after=retry_after_seconds(headers))
    return PermanentError(message)


class SendGridBackend:
    """SendGrid's v3 mail send through the sendgrid library; the host is configurable for tests."""

    def __init__(self, settings):
        self.client = SendGridAPIClient(settings.sendgrid_api_key, host=settings.sendgrid_api_host)
        self.timeout = settings.send_timeout

    @staticmethod
    def request_body(email):
        mail = Mail(
            from_email=From(email.sender_email, email.sender_name),
            to_emails=To(email.recipient_email, email.recipient_name),
            subject=email.subject,
        )
        # v3 wants text/plain before text/html.
        mail.add_content(Content(MimeType.text, email.text))
        mail.add_content(Content(MimeType.html, email.html))
        # Comes back in SendGrid's event webhooks: ties a bounce or open to this delivery.
        mail.custom_arg = CustomArg("deskline_delivery", email.reference)
        # Our Message-ID and the thread's headers, as the SMTP backend sends them (v3 takes them as headers).
        mail.header = Header("Message-ID", email.message_id)
        for name, value in threading_headers(email):
            if name == "Reply-To":
                mail.reply_to = ReplyTo(value)
            else:
                mail.header = Header(name, value)
        return mail.get()

    def send(self, email):
        try:
            # What SendGridAPIClient.send does, plus a timeout.
            response = self.client.client.mail.send.post(request_body=self.request_body(email), timeout=self.timeout)
        except http_errors.HTTPError as exc:
            raise classify_http_status(exc.status_code, exc.headers, exc.body) from None
        except (urllib.error.URLError, OSError, socket.timeout) as exc:
            raise TransientError(f"SendGrid unreachable: {exc!r}") from None
        if response.status_code >= 300:
            raise classify_http_status(response.status_code, response.headers, response.body)
        return (response.headers.get("X-Message-Id") or None) if response.headers else None


BACKENDS = {"console": ConsoleBackend, "smtp": SmtpBackend, "sendgrid": SendGridBackend}


def build_backend(settings):
    return BACKENDS[settings.email_backend](settings)


class ConsoleSmsBackend:
    """Development: print the SMS instead of sending it."""

    def __init__(self, settings, stream=None):
        self.stream = stream or sys.stdout

    def send(self, sms):
        self.stream.write(f"---------- SMS (console backend) ----------\nTo: {sms.to}\n\n{sms.body}\n"
                          "-------------------------------------------\n")
        self.stream.flush()
        return None


def classify_twilio_error(status, code, message):
    """As e-mail APIs: 429, 5xx and 401/403 (credentials the operator must fix) transient; any other 4xx
    (21211 invalid 'To' number, 21610 unsubscribed recipient, 21614 not a mobile number...) permanent."""
    text = f"Twilio answered {status}" + (f" (error {code})" if code else "") + (f": {message}" if message else "")
    if status is None or status == 429 or status >= 500 or status in (401, 403, 408):
        return TransientError(text[:500])
    return PermanentError(text[:500])


class TwilioSmsBackend:
    """Twilio's Messages API through the official twilio library; the API base is configurable
    (TWILIO_API_BASE, the supported `base_url` of the client's Api domain) so tests use a fake server."""

    def __init__(self, settings):
        # Its own requests session and timeout; no retries inside the library: the delivery log retries.
        http_client = TwilioHttpClient(timeout=settings.send_timeout)
        # The library logs each request (the customer's number among it) at INFO: keep that out of our logs.
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        self.client = TwilioClient(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
        if settings.twilio_api_base:
            self.client.api.base_url = settings.twilio_api_base.rstrip("/")
        self.sender = settings.twilio_from

    def send(self, sms):
        try:
            message = self.client.messages.create(to=sms.to, from_=self.sender, body=sms.body)
        except TwilioException as exc:
            status = getattr(exc, "status", None)
            raise classify_twilio_error(status, getattr(exc, "code", None),
                                        getattr(exc, "msg", None) or getattr(exc, "detail", None) or str(exc)) from None
        except (OSError, ValueError) as exc:  # requests' connection errors and timeouts are OSErrors; a bad reply
            raise TransientError(f"Twilio unreachable: {exc!r}") from None
        return message.sid


SMS_BACKENDS = {"console": ConsoleSmsBackend, "twilio": TwilioSmsBackend}


def build_sms_backend(settings):
    return SMS_BACKENDS[settings.sms_backend](settings)
