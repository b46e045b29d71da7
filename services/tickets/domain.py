"""Ticket rules that need neither a database nor a broker: numbering, references, updates."""
# Numbering's format and references are shared: every service reads the numbers this one writes.
from shared.contracts.ticket_numbers import format_ticket_number, parse_ref  # noqa: F401


def stamp_status(ticket, now):
    """Keep resolved_at/closed_at true to the current status.

    Resolving stamps resolved_at, closing stamps closed_at (and resolved_at if it never was);
    reopening clears both, so they always say when the current resolution happened. Each resolution
    (resolved_at going from none to set) is a new round: rating links name their round.
    """
    ticket.resolution_round = ticket.resolution_round or 0
    if ticket.status in ("resolved", "closed") and ticket.resolved_at is None:
        ticket.resolution_round += 1
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
