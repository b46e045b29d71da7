"""SMS updates: a short text to the customer's phone when their ticket is created and when it is resolved.

Sent when the ticket has a customer phone (E.164, tickets' `customer_phone`) and its client has
"SMS updates" on (the client setting `sms_updates`, learnt from the gateway's directory events:
directory.py). Each is a delivery of the e-mails' log (deliveries.py) of a kind of its own
(`sms_created`, `sms_resolved`), so it has the e-mails' idempotency (one per event and kind: a
redelivered event sends nothing more), retries with back-off and failure record; it goes through the
SMS backend (backends.py: console or Twilio) instead of the mail one. The text carries the ticket number
and, when the ticket has a customer e-mail (the link is bound to it), the signed tracking link.
"""
import re
import uuid
from dataclasses import dataclass

from shared.contracts.schemas import E164

from . import directory
from .emails import CREATED, RESOLVED, Plan

SMS_CREATED, SMS_RESOLVED = "sms_created", "sms_resolved"
KINDS = (SMS_CREATED, SMS_RESOLVED)
FOR_EMAIL_KIND = {CREATED: SMS_CREATED, RESOLVED: SMS_RESOLVED}
# The client setting (gateway: PATCH /api/client/settings) that turns SMS updates on.
SETTING = "sms_updates"


@dataclass(frozen=True)
class OutgoingSms:
    to: str
    body: str
    # Names this delivery (as an e-mail's X-Deskline-Delivery does).
    reference: str


def normalize_phone(number):
    """An E.164 number as stored ('+14155550123'), or None for anything else."""
    if not isinstance(number, str):
        return None
    number = number.strip()
    return number if re.fullmatch(E164, number) else None


def client_wants_sms(session, client_id):
    """Whether the ticket's client has SMS updates on (its directory copy; off when unknown)."""
    try:
        client = directory.client_by_id(session, uuid.UUID(str(client_id)))
    except ValueError:
        return False
    return bool(client and client["settings"].get(SETTING))


def plan(email_plan, ticket, settings):
    """The SMS an event's e-mail plan calls for (created or resolved, the ticket has a phone), or None.
    The client's setting is checked by the caller (it needs the database)."""
    kind = FOR_EMAIL_KIND.get(email_plan.kind) if email_plan is not None else None
    phone = (ticket or {}).get("customer_phone")
    if kind is None or not phone:
        return None
    number, email = email_plan.ticket_number, (ticket.get("customer_email") or "").strip()
    # Signed once, here: every attempt of this delivery then sends the same text.
    link = settings.links.url(settings.public_base_url, number, email) if email else None
    context = {"ticket": {"ticket_number": number, "status": ticket.get("status")}, "tracking_url": link}
    return Plan(
        event_id=email_plan.event_id, event_type=email_plan.event_type, kind=kind, ticket_id=email_plan.ticket_id,
        ticket_number=number, recipient=phone, context=context, occurred_at=email_plan.occurred_at,
        subject=f"SMS: {number} {'created' if kind == SMS_CREATED else 'resolved'}",
    )


def text(kind, context, sender_name):
    """The message: who, which ticket, what happened, and the link (short: one or two SMS segments)."""
    ticket = context["ticket"]
    number, status = ticket["ticket_number"], ticket.get("status")
    if kind == SMS_RESOLVED or status in ("resolved", "closed"):
        said = f"your ticket {number} has been {'closed' if status == 'closed' else 'resolved'}."
    else:
        said = f"we received your request {number}."
    link = context.get("tracking_url")
    return f"{sender_name}: {said}" + (f" Track it: {link}" if link else "")


def compose(kind, context, recipient, event_id, settings):
    """The OutgoingSms of a claimed delivery (deliveries.attempt_delivery's `compose` for SMS kinds)."""
    return OutgoingSms(to=recipient, body=text(kind, context, settings.sender_name), reference=f"{event_id}.{kind}")
