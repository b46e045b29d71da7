"""Chat rules that need neither a database nor a broker: tokens, posting, read markers, ticket links."""
import hashlib
import re
import secrets
import uuid

from shared.contracts.events import MalformedEvent
from shared.contracts.exceptions import Conflict
from shared.contracts.ticket_numbers import is_ticket_number

PREVIEW_MAX = 140
SYSTEM_AUTHOR_NAME = "Deskline"
CLOSED_TEXT = "Conversation closed"
# 32 random bytes: 256 bits, far beyond guessing; URL-safe so it fits a cookie or a path.
TOKEN_BYTES = 32
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")

# Which authors' messages count as unread for each side (its own never do).
UNREAD_AUTHORS = {"agent": ("customer",), "customer": ("agent", "system")}


def new_token():
    """The customer's conversation token, shown once; only its hash is stored."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token):
    """SHA-256 hex of a token, or None if it cannot be one (so it cannot match anything)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def parse_id(value):
    """A conversation id as a UUID, or None if it cannot be one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None


def preview(body):
    """One line, at most PREVIEW_MAX characters: what a list shows of the newest message."""
    line = " ".join(body.split())
    return line if len(line) <= PREVIEW_MAX else line[: PREVIEW_MAX - 1].rstrip() + "…"


def check_can_post(conversation, author):
    """Customers and agents write only while the conversation is open; the service always may."""
    if conversation.status == "closed" and author != "system":
        raise Conflict(f"conversation {conversation.id} is closed: no more messages can be posted")


def record_post(conversation, message):
    """Make `message` the conversation's newest; its author's side has read everything up to it."""
    conversation.last_message_id = message.id
    conversation.last_message_at = message.created_at
    conversation.last_message_author = message.author
    conversation.last_message_author_name = message.author_name
    conversation.last_message_preview = preview(message.body)
    if message.author == "agent":
        conversation.agent_read_up_to = max(conversation.agent_read_up_to or 0, message.id)
    elif message.author == "customer":
        conversation.customer_read_up_to = max(conversation.customer_read_up_to or 0, message.id)


def mark_read(conversation, side, up_to):
    """Move `side`'s read marker forward to `up_to` (never back, never past the newest message).

    Returns True if it moved.
    """
    attribute = f"{side}_read_up_to"
    current = getattr(conversation, attribute) or 0
    target = min(up_to, conversation.last_message_id or 0)
    if target <= current:
        return False
    setattr(conversation, attribute, target)
    return True


def close(conversation, actor, now):
    """Close an open conversation; returns False if it already was (closing twice changes nothing)."""
    if conversation.status == "closed":
        return False
    conversation.status = "closed"
    conversation.closed_at = now
    conversation.closed_by = actor
    return True


# Who closes an open chat no agent answered, once it has been quiet for a while (operations.close_unanswered).
UNANSWERED_CLOSER = "system"


def is_missed(closed_by, agent_answered):
    """A conversation the customer closed before any agent wrote in it, or that nobody answered
    until the service closed it: the agents missed it."""
    return closed_by in ("customer", UNANSWERED_CLOSER) and not agent_answered


def mark_missed(conversation, now):
    conversation.missed_at = now


def mark_handled(conversation, actor, now):
    """An agent has dealt with a missed conversation; False if it was not missed or already handled."""
    if conversation.missed_at is None or conversation.handled_at is not None:
        return False
    conversation.handled_at, conversation.handled_by = now, actor
    return True


# The transcript a missed-chat e-mail carries: the newest messages, oldest first.
TRANSCRIPT_MESSAGES = 200


def check_can_assign(conversation):
    if conversation.status == "closed":
        raise Conflict(f"conversation {conversation.id} is closed: it cannot be assigned")


def ticket_created_text(ticket_number):
    return f"Ticket {ticket_number} created"


def ticket_link(envelope):
    """What a ticket.created envelope asks of chat: a dict with event_id, conversation_id (UUID),
    client_id, ticket_id (UUID) and ticket_number; None if the ticket came from no conversation
    (or from a conversation id that cannot be ours). Raises MalformedEvent if unreadable."""
    try:
        event_id = uuid.UUID(str(envelope["event_id"]))
        ticket = envelope["data"]["ticket"]
        reference = ticket.get("conversation_id")
        if reference in (None, ""):
            return None
        conversation_id = parse_id(reference)
        if conversation_id is None:
            return None
        ticket_id = uuid.UUID(str(ticket["id"]))
        ticket_number = ticket["ticket_number"]
        client_id = ticket["client_id"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEvent(f"unreadable ticket.created: {exc!r}") from None
    if not is_ticket_number(ticket_number) or ticket_number != ticket_number.strip().upper():
        raise MalformedEvent(f"unreadable ticket number {ticket_number!r}")
    if not isinstance(client_id, str) or not client_id:
        raise MalformedEvent(f"unreadable client id {client_id!r}")
    return {
        "event_id": event_id, "conversation_id": conversation_id, "client_id": client_id,
        "ticket_id": ticket_id, "ticket_number": ticket_number,
    }


def ticket_draft(conversation, messages, excerpt_max=1500):
    """The "Create Ticket" dialog's pre-filled fields: customer details,
    the conversation id (read-only), a title and a description with the newest lines of the chat."""
    lines = []
    used = 0
    for message in reversed(messages):  # newest first, so the latest context survives the cut
        if message.author == "system":
            continue
        line = f"{message.author_name}: {' '.join(message.body.split())}"
        if used + len(line) + 1 > excerpt_max:
            if not lines:
                lines.append(line[: excerpt_max - 1].rstrip() + "…")
            break
        lines.append(line)
        used += len(line) + 1
    return {
        "conversation_id": str(conversation.id),
        "client_id": conversation.client_id,
        "customer_name": conversation.customer_name,
        "customer_email": conversation.customer_email,
        "title": f"Support Issue from {conversation.customer_name}"[:200],
        "description": "\n".join(reversed(lines)) or f"Live chat with {conversation.customer_name}.",
    }
