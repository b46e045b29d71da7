"""The ticket's conversation as the customer sees it on the tracker: its public messages only.

The tracker's lookup itself stays one Redis script over the read model (tracker_view.py), the same
work for every miss. Only once it has matched (number + e-mail, or a signed link) is the thread read,
from the tickets service (contract A's list_messages with include_internal=False), so that a miss
still costs and says exactly what it did. Internal notes are asked not to be sent and, should one
come anyway, are dropped here too: they must never reach a customer.

The page's reply form and attachment links carry a signed tracking link's token (the same kind the
e-mails carry: bound to the number and the address, expiring), made after the match: the customer's
"verified session", with no cookie to steal and nothing kept on the server.
"""
import secrets

from flask import current_app

from services.tracker_gateway.core.errors import ServiceUnavailable
from services.tracker_gateway.core.rpc import tickets
from services.tracker_gateway.public import public_csrf, uploads

UNAVAILABLE_MESSAGE = "Your conversation cannot be shown just now. Try again in a moment."
SHOWN_FIELDS = ("id", "author_type", "author_name", "channel", "body", "created_at")


def public_messages(number, client_id):
    """The ticket's public thread, oldest first (ServiceUnavailable if the tickets service is away)."""
    return [message for message in tickets().list_messages(number, client_id=client_id, include_internal=False)
            if message.get("visibility") == "public"]


def shown(message):
    """What the page shows of a message: not the authors' addresses, not the e-mail headers."""
    attachments = [{key: item.get(key) for key in ("id", "filename", "size")} for item in message.get("attachments") or ()]
    return {**{key: message.get(key) for key in SHOWN_FIELDS}, "attachments": attachments}


def token_for(number, email, client_id):
    return current_app.extensions["tracking_links"].make_token(number, email, client_id)


def context(number, email, client_id, errors=None, values=None):
    """The `thread` a ticket page renders: messages (or `error`), the link token, the reply form's fields."""
    try:
        messages, error = [shown(message) for message in public_messages(number, client_id)], None
    except ServiceUnavailable:
        # The ticket's facts come from the read model and still show; only the conversation waits.
        messages, error = [], UNAVAILABLE_MESSAGE
    values = dict(values or {})
    values.setdefault("form_id", secrets.token_hex(16))
    most_files, most_bytes = uploads.limits()
    return {
        "messages": messages, "error": error, "token": token_for(number, email, client_id), "errors": errors or {},
        "typed": values, "csrf_token": public_csrf.token(),
        "max_files": most_files, "max_bytes": most_bytes, "max_size": uploads.megabytes(most_bytes),
    }


def description_repeated(ticket, thread):
    """Whether the first message is the description (a web-form or e-mail ticket): shown once, then."""
    return bool(thread["messages"]) and thread["messages"][0]["body"].strip() == (ticket.get("description") or "").strip()
