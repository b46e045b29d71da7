"""Ticket rules that need neither a database nor a broker: numbering, references, updates."""
import re
import uuid

TICKET_NUMBER_PREFIX = "TKT-"
_TICKET_NUMBER = re.compile(r"^\s*TKT-(\d{5,})\s*$", re.IGNORECASE)


def format_ticket_number(number):
    """TKT- and at least five digits: TKT-00001, ..., TKT-99999, TKT-100000."""
    return f"{TICKET_NUMBER_PREFIX}{number:05d}"


def parse_ref(ref):
    """A reference is a ticket number or an id: ("number", 12) or ("id", UUID); None if neither."""
    if not isinstance(ref, str):
        return None
    match = _TICKET_NUMBER.match(ref)
    if match:
        return "number", int(match.group(1))
    try:
        return "id", uuid.UUID(ref.strip())
    except ValueError:
        return None


def stamp_status(ticket, now):
    """Keep resolved_at/closed_at true to the current status.

    Resolving stamps resolved_at, closing stamps closed_at (and resolved_at if it never was);
    reopening clears both, so they always say when the current resolution happened.
    """
    if ticket.status == "resolved":
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = None
    elif ticket.status == "closed":
        ticket.resolved_at = ticket.resolved_at or now
        ticket.closed_at = ticket.closed_at or now
    else:
        ticket.resolved_at = None
        ticket.closed_at = None


def apply_changes(ticket, changes, now):
    """Set each changed field on `ticket`; return {field: {"from": old, "to": new}} of real changes.

    A field set to the value it already has is not a change: it records nothing and sends no event.
    """
    diff = {}
    for field, new in changes.items():
        old = getattr(ticket, field)
        if old != new:
            diff[field] = {"from": old, "to": new}
            setattr(ticket, field, new)
    if "status" in diff:
        stamp_status(ticket, now)
    if diff:
        ticket.updated_at = now
    return diff
