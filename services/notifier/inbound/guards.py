"""What inbound mail is ignored or refused before it reaches a ticket: auto-replies and bounces
(never answered, never a loop), our own mail coming back, and the limits (size, attachments,
messages per sender per hour). Pure rules: the caller supplies the facts it looked up."""
from dataclasses import dataclass

AUTO_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 15_000_000  # the raw message (base64 makes 10 MB of attachments ~13.7 MB)
    max_attachments: int = 10
    max_attachment_bytes: int = 10_000_000  # all attachments together, decoded (the tickets service's limit)
    per_sender_per_hour: int = 30


def ignore_reason(mail, envelope_sender=None, our_addresses=(), is_our_message_id=False):
    """Why this mail must not reach a ticket nor be answered ("auto-reply", "bounce", "loop"), or None.

    `envelope_sender` is SMTP's MAIL FROM ("" for the null sender <>; None when unknown, e.g. from
    the webhook, where the Return-Path header tells instead)."""
    headers = mail.headers
    if is_our_message_id or "x-deskline-delivery" in headers or mail.sender.lower() in our_addresses:
        return "loop"
    local = mail.sender.split("@", 1)[0].lower()
    if (envelope_sender is not None and envelope_sender.strip("<> ") == "") or (mail.return_path is not None and mail.return_path.strip("<> ") == ""):
        return "bounce"
    if local in BOUNCE_SENDERS or "x-failed-recipients" in headers:
        return "bounce"
    if headers.get("content-type", "").startswith("multipart/report"):
        return "bounce"
    if headers.get("auto-submitted", "no").split(";")[0].strip() not in ("no", ""):
        return "auto-reply"
    if headers.get("precedence", "").strip() in AUTO_PRECEDENCE:
        return "auto-reply"
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "auto-reply"
    if headers.get("x-auto-response-suppress", "") in ("all", "oof") and "list-id" in headers:
        return "auto-reply"
    return None


def size_refusal(size, limits):
    if size > limits.max_bytes:
        return f"message too large: {size} bytes (limit {limits.max_bytes})"
    return None


def attachment_refusal(mail, limits):
    if len(mail.attachments) > limits.max_attachments:
        return f"too many attachments: {len(mail.attachments)} (limit {limits.max_attachments})"
    total = sum(attachment.size for attachment in mail.attachments)
    if total > limits.max_attachment_bytes:
        return f"attachments too large: {total} bytes (limit {limits.max_attachment_bytes})"
    return None


def rate_refusal(recent_count, limits):
    """`recent_count`: this sender's messages taken in the last hour."""
    if recent_count >= limits.per_sender_per_hour:
        return f"too many messages from this sender: {recent_count} in the last hour"
    return None
