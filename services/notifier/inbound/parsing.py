"""A raw inbound email (bytes as received) read into what Deskline needs: who, to whom, the thread
headers, the new text (quoted history cut, HTML made plain text), the full original, attachments."""
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.utils import getaddresses, parseaddr

import html2text

from ..emails import normalize_address
from .quoting import cut_quoted

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
# Multipart damage that leaves no trustworthy body: kept as unparseable rather than guessed at.
_FATAL_DEFECTS = ("StartBoundaryNotFoundDefect", "NoBoundaryInMultipartDefect", "MultipartInvariantViolationDefect")
SUBJECT_MAX = 400


class Unparseable(ValueError):
    """The bytes are not an email we can read (kept for admins, never guessed at)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self):
        return len(self.data)


@dataclass(frozen=True)
class InboundMail:
    sender: str  # From, normalised (lower-case domain)
    sender_name: str | None
    subject: str
    message_id: str | None
    in_reply_to: tuple
    references: tuple
    recipients: tuple  # header recipients (To, Cc, Delivered-To), lower-cased
    return_path: str | None  # None: no Return-Path header; "" an empty one (<>): a bounce
    headers: dict  # the lower-cased loop and auto-reply headers guards.py reads
    body: str  # the new text
    original: str  # the whole text, quoted history included
    quote_cut: bool
    attachments: tuple = field(default=())
    size: int = 0

    @property
    def thread_ids(self):
        """The Message-IDs this mail answers, nearest first (In-Reply-To, then References newest first)."""
        seen, ordered = set(), []
        for message_id in (*self.in_reply_to, *reversed(self.references)):
            if message_id not in seen:
                seen.add(message_id)
                ordered.append(message_id)
        return tuple(ordered)


GUARD_HEADERS = ("auto-submitted", "precedence", "x-autoreply", "x-autorespond", "x-auto-response-suppress",
                 "list-id", "list-unsubscribe", "x-failed-recipients", "content-type", "x-deskline-delivery")


def message_ids(value):
    return tuple(_MESSAGE_ID.findall(str(value or "")))


def html_to_text(html):
    """Plain text from HTML: no markup, no script, images named only by their alt text (never loaded)."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    return converter.handle(html or "").strip()


def _text_of(part):
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError, ValueError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def _body(message):
    """The text the sender wrote: text/plain if there is one, else HTML made text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _text_of(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text)
    return text


def _attachments(message, body_part):
    found = []
    for part in message.walk():
        if part.is_multipart() or part is body_part:
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        if part.get_content_type() == "message/rfc822":
            data = part.as_bytes()
        else:
            data = part.get_payload(decode=True) or b""
        name = " ".join(str(filename or "attachment").split())[:255] or "attachment"
        found.append(Attachment(name.replace("/", "_").replace("\\", "_"), part.get_content_type()[:100], data))
    return tuple(found)


def _header(message, name):
    try:
        value = message.get(name)
    except (ValueError, IndexError, AttributeError):  # a header the parser cannot make into an object
        return None
    return None if value is None else " ".join(str(value).split())


def parse(raw):
    """InboundMail from raw bytes; raises Unparseable."""
    if not raw or not isinstance(raw, bytes | bytearray):
        raise Unparseable("empty message")
    try:
        message = message_from_bytes(bytes(raw), policy=email_policy.default)
        defects = [type(defect).__name__ for part in message.walk() for defect in part.defects]
        if any(name in _FATAL_DEFECTS for name in defects):
            raise Unparseable(f"broken MIME structure: {', '.join(sorted(set(defects)))}")
        name, address = parseaddr(_header(message, "From") or "")
        sender = normalize_address(address)
        if sender is None:
            raise Unparseable("no readable From address")
        body_part = message.get_body(preferencelist=("plain", "html"))
        original = _body(message)
        body, cut = cut_quoted(original)
        recipients = []
        for header in ("To", "Cc", "Delivered-To", "X-Original-To"):
            for _, value in getaddresses([str(v) for v in message.get_all(header, [])]):
                if value and "@" in value:
                    recipients.append(value.strip().lower())
        return_path = message.get("Return-Path")
        headers = {key: (_header(message, key) or "").lower() for key in GUARD_HEADERS if message.get(key) is not None}
        return InboundMail(
            sender=sender,
            sender_name=(" ".join(name.split())[:200] or None),
            subject=" ".join(str(message.get("Subject") or "").split())[:SUBJECT_MAX],
            message_id=(message_ids(message.get("Message-ID")) or (None,))[0],
            in_reply_to=message_ids(message.get("In-Reply-To")),
            references=message_ids(message.get("References")),
            recipients=tuple(dict.fromkeys(recipients)),
            return_path=None if return_path is None else str(return_path).strip(),
            headers=headers,
            body=body,
            original=original.strip(),
            quote_cut=cut,
            attachments=_attachments(message, body_part),
            size=len(raw),
        )
    except Unparseable:
        raise
    except Exception as exc:  # the email package raises many kinds on hostile input: all mean the same here
        raise Unparseable(f"unreadable message: {exc!r}"[:500]) from None
