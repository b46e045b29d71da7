"""One inbound email from either intake (SMTP receiver, SendGrid webhook) to its ticket: guards,
matching, the hand-off to the tickets service, and a record of what became of it.

Matching, in this order (docs/decisions.md says why): the reply token in a recipient address; the
In-Reply-To/References against our own Message-IDs (the delivery log) and the tickets' inbound
Message-IDs; the `[TKT-nnnnn]` subject tag only when the sender is that ticket's customer. No match:
a new ticket in the client owning the recipient address `<slug>@<domain>`, the sender as customer.
"""
import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.contracts.exceptions import NotFound, ValidationError

from .. import directory, mailthread
from ..models import InboundMessage
from . import guards, matching, parsing

log = logging.getLogger(__name__)

ADDED, CREATED, IGNORED, REFUSED, UNPARSEABLE, FAILED = "added", "created", "ignored", "refused", "unparseable", "failed"
BODY_MAX = 100_000  # the tickets service's limit for a message
DESCRIPTION_MAX, TITLE_MAX = 20_000, 200
DEFAULT_REOPEN_WINDOW_DAYS = 14
SOURCES = ("smtp", "sendgrid")


@dataclass(frozen=True)
class Outcome:
    """What became of a mail, and the SMTP reply that says it (the webhook answers 200 whatever it is:
    SendGrid would retry anything else for days)."""

    status: str
    reason: str | None = None
    ticket_number: str | None = None
    matched_by: str | None = None
    smtp_code: int = 250
    inbound_id: int | None = None
    client_id: str | None = None  # the ticket's client, else the one owning a `<slug>@domain` recipient

    @property
    def smtp_reply(self):
        texts = {250: "2.0.0 Message accepted", 550: "5.1.1 Recipient unknown", 552: "5.3.4 Message refused",
                 451: "4.3.0 Try again later"}
        detail = texts.get(self.smtp_code, "Refused")
        if self.smtp_code != 250 and self.reason:
            detail = f"{detail}: {self.reason}"
        return f"{self.smtp_code} {detail}"[:500]

    def as_dict(self):
        return {"status": self.status, "reason": self.reason, "ticket_number": self.ticket_number,
                "matched_by": self.matched_by, "smtp_code": self.smtp_code, "smtp_reply": self.smtp_reply,
                "inbound_id": self.inbound_id, "client_id": self.client_id}


def limits_of(settings):
    return guards.Limits(max_bytes=settings.inbound_max_bytes,
                         per_sender_per_hour=settings.inbound_sender_hourly_limit)


def _utcnow():
    return datetime.now(timezone.utc)


def _record(session, source, recipients, outcome, mail=None, size=0, raw=None, now=None, owner=None):
    """Keep the mail's outcome; `owner` (a client id) owns it unless the outcome names its ticket's client."""
    outcome = replace(outcome, client_id=outcome.client_id or owner)
    row = InboundMessage(
        received_at=now or _utcnow(), source=source,
        sender=mail.sender if mail else None, recipients=list(recipients)[:50],
        subject=mail.subject if mail else None, message_id=mail.message_id if mail else None,
        status=outcome.status, reason=(outcome.reason or None) and outcome.reason[:2000],
        ticket_number=outcome.ticket_number, matched_by=outcome.matched_by, size=size, raw=raw,
        client_id=outcome.client_id,
    )
    session.add(row)
    session.flush()
    return replace(outcome, inbound_id=row.id)


def _message(mail):
    body = mail.body if mail.body.strip() else ("(attachments only)" if mail.attachments else "(no text)")
    message = {
        "body": body[:BODY_MAX], "visibility": "public", "author_type": "customer",
        "author_name": mail.sender_name or mail.sender, "author_email": mail.sender, "channel": "email",
        "email_message_id": mail.message_id,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "data_b64": base64.b64encode(a.data).decode()}
            for a in mail.attachments
        ],
    }
    if mail.quote_cut or mail.original != mail.body:
        message["original"] = mail.original[: BODY_MAX * 5]
    return message


def _idempotency_key(mail, raw):
    if mail.message_id:
        return f"email:{mail.message_id}"[:255]
    return f"email-sha256:{hashlib.sha256(bytes(raw)).hexdigest()}"


def _reopen_window(session, client_id):
    try:
        client = directory.client_by_id(session, uuid.UUID(str(client_id))) if client_id else None
    except ValueError:  # a client id that is no UUID (older tickets): the default window
        client = None
    settings = (client or {}).get("settings") or {}
    return int(settings.get("reopen_window_days", DEFAULT_REOPEN_WINDOW_DAYS))


def receive(session_scope, tickets, raw, recipients, source, settings, envelope_sender=None, now=None):
    """Take one raw email addressed to `recipients` (the envelope's, or the webhook's) through the
    guards and into its ticket. `session_scope()` gives a session that commits on exit; `tickets`
    is the tickets service (RPC proxy). Returns an Outcome; raises nothing for a mail's fault."""
    now = now or _utcnow()
    recipients = [str(address).strip().lower() for address in recipients or () if address][:100]
    limits = limits_of(settings)
    size = len(raw or b"")
    refusal = guards.size_refusal(size, limits)
    if refusal:
        with session_scope() as session:
            return _record(session, source, recipients, Outcome(REFUSED, refusal, smtp_code=552), size=size, now=now,
                           owner=_owner(session, _read(recipients, settings)))
    try:
        mail = parsing.parse(raw)
    except parsing.Unparseable as exc:
        with session_scope() as session:
            outcome = _record(session, source, recipients, Outcome(UNPARSEABLE, str(exc)), size=size,
                              raw=bytes(raw or b""), now=now, owner=_owner(session, _read(recipients, settings)))
        log.warning("notifier: inbound mail %s kept unparsed: %s", outcome.inbound_id, exc)
        return outcome

    addressed = matching.read_recipients([*recipients, *mail.recipients], settings.inbound_email_domain)
    with session_scope() as session:
        client = _client(session, addressed)
        owner = _owner(session, addressed, mail)
        ours = mailthread.is_our_message_id(session, mail.message_id, settings)
        reason = guards.ignore_reason(mail, envelope_sender, (settings.sender_email.lower(),), ours)
        if reason:
            return _record(session, source, recipients, Outcome(IGNORED, reason), mail, size, now=now, owner=owner)
        refusal = guards.attachment_refusal(mail, limits)
        if refusal:
            return _record(session, source, recipients, Outcome(REFUSED, refusal, smtp_code=552), mail, size,
                           now=now, owner=owner)
        if not addressed.ours:
            return _record(session, source, recipients,
                           Outcome(REFUSED, "no recipient in this desk's domain", smtp_code=550), mail, size,
                           now=now, owner=owner)
        recent = session.scalar(
            sa.select(sa.func.count()).select_from(InboundMessage).where(
                InboundMessage.sender == mail.sender, InboundMessage.received_at > now - timedelta(hours=1),
                InboundMessage.status.in_((ADDED, CREATED)))
        )
        refusal = guards.rate_refusal(recent, limits)
        if refusal:
            return _record(session, source, recipients, Outcome(REFUSED, refusal, smtp_code=451), mail, size,
                           now=now, owner=owner)
        thread = mailthread.ticket_for_message_ids(session, mail.thread_ids)
        by_headers, known_client = (str(thread.ticket_id), thread.client_id) if thread else (None, None)

    try:
        outcome = _hand_off(session_scope, tickets, mail, raw, addressed, client, by_headers, known_client)
    except ValidationError as exc:
        outcome = Outcome(REFUSED, f"the ticket refused it: {exc.errors}", smtp_code=552)
    except Exception as exc:  # tickets away or slow: the sender (MTA or SendGrid) tries again later
        log.warning("notifier: inbound mail from %s not handed over: %r", mail.sender, exc)
        with session_scope() as session:
            return _record(session, source, recipients, Outcome(FAILED, repr(exc)[:500], smtp_code=451), mail, size,
                           raw=bytes(raw), now=now, owner=owner)
    with session_scope() as session:
        return _record(session, source, recipients, outcome, mail, size, now=now, owner=owner)


def _read(recipients, settings):
    return matching.read_recipients(recipients, settings.inbound_email_domain)


def _client(session, addressed):
    """The client owning the first `<slug>@domain` recipient that names one, or None."""
    return next(filter(None, (directory.client_by_slug(session, slug) for slug in addressed.slugs)), None)


def _owner(session, addressed, mail=None):
    """Whose mail this is, before (or without) a ticket: the client a `<slug>@domain` recipient names, else
    the client of the ticket its reply token or its In-Reply-To/References name (the notifier's own
    record of its threads), else None. A ticket it reaches overrides this (Outcome.client_id)."""
    client = _client(session, addressed)
    if client:
        return client["id"]
    thread = None
    if addressed.tokens:
        thread = session.scalars(sa.select(mailthread.MailThread)
                                 .where(mailthread.MailThread.reply_token.in_(addressed.tokens))).first()
    if thread is None and mail is not None and mail.thread_ids:
        thread = mailthread.ticket_for_message_ids(session, mail.thread_ids)
    return thread.client_id if thread is not None else None


def _hand_off(session_scope, tickets, mail, raw, addressed, client, by_headers, known_client):
    number = matching.subject_number(mail.subject)
    found = None
    if addressed.tokens or mail.thread_ids or number:
        found = tickets.find_ticket_for_email(
            client_id=client["id"] if client else None, reply_tokens=list(addressed.tokens),
            message_ids=list(mail.thread_ids), number=number, sender=mail.sender,
        )
    if found and found.get("matched_by") == "token":
        ref, matched_by, client_id = found["ticket"]["ticket_number"], "token", found["ticket"].get("client_id")
    elif by_headers:
        ref, matched_by, client_id = by_headers, "headers", known_client
    elif found:
        ref, matched_by, client_id = found["ticket"]["ticket_number"], found["matched_by"], found["ticket"].get("client_id")
    else:
        ref = matched_by = client_id = None
    message = _message(mail)
    key = _idempotency_key(mail, raw)
    if ref:
        with session_scope() as session:
            message["reopen_window_days"] = _reopen_window(session, client_id)
        # A number names a ticket only within its client (numbers are per client).
        result = tickets.add_message(ref, message, client_id=client_id, idempotency_key=key)
        status = CREATED if result.get("created_ticket") else ADDED
        owner = result["ticket"].get("client_id") or client_id or (client["id"] if client else None)
        return Outcome(status, None, result["ticket"]["ticket_number"], matched_by,
                       client_id=str(owner) if owner else None)
    if client is None:
        return Outcome(REFUSED, "unknown recipient", smtp_code=550)
    data = {
        "client_id": client["id"], "title": (mail.subject or "(no subject)")[:TITLE_MAX],
        "description": (mail.body or message["body"])[:DESCRIPTION_MAX],
        "customer_name": mail.sender_name, "customer_email": mail.sender, "created_by": "email",
        "channel": "email", "messages": [message],
    }
    ticket = tickets.create_ticket(data, idempotency_key=key)
    return Outcome(CREATED, None, ticket["ticket_number"], "new", client_id=client["id"])


def _inbound_view(row):
    return {"id": row.id, "received_at": row.received_at.isoformat(), "source": row.source, "sender": row.sender,
            "recipients": row.recipients, "subject": row.subject, "message_id": row.message_id, "status": row.status,
            "reason": row.reason, "ticket_number": row.ticket_number, "matched_by": row.matched_by, "size": row.size,
            "has_raw": row.raw is not None}


def list_inbound(session, client_id, status=None, limit=50):
    """The client's newest inbound mails and what became of each (metadata: `has_raw` says whether
    the raw bytes were kept, `get_inbound_raw` gives them). No client, no rows."""
    if not client_id:
        return []
    query = (sa.select(InboundMessage).where(InboundMessage.client_id == str(client_id))
             .order_by(InboundMessage.id.desc()).limit(max(1, min(int(limit), 500))))
    if status:
        query = query.where(InboundMessage.status == status)
    return [_inbound_view(row) for row in session.scalars(query)]


def get_inbound_raw(session, client_id, inbound_id):
    """The raw bytes (base64) kept of one of the client's inbound mails; NotFound for another
    client's mail, an unknown id, or a mail whose bytes were not kept."""
    try:
        inbound_id = int(inbound_id)
    except (TypeError, ValueError):
        raise NotFound("inbound mail") from None
    row = session.get(InboundMessage, inbound_id) if 0 < inbound_id < 2**63 else None
    if row is None or not client_id or row.client_id != str(client_id) or row.raw is None:
        raise NotFound("inbound mail")
    return base64.b64encode(row.raw).decode()
