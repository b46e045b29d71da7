"""Ticket numbers, in the one format every service writes and reads: TKT- and at least five digits."""
import re
import uuid

PREFIX = "TKT-"
_EXACT = re.compile(r"^\s*TKT-(\d{5,})\s*$", re.IGNORECASE)
# As customers type them: any case, a dash, a space or nothing after TKT, with or without leading zeros.
_TYPED = re.compile(r"^\s*(?:TKT[-\s]?)?0*(\d{1,12})\s*$", re.IGNORECASE)


def format_ticket_number(number):
    """TKT-00001, ..., TKT-99999, TKT-100000."""
    return f"{PREFIX}{number:05d}"


def is_ticket_number(text):
    return isinstance(text, str) and _EXACT.match(text) is not None


def parse_ref(ref):
    """A reference is a ticket number or an id: ("number", 12) or ("id", UUID); None if neither."""
    if not isinstance(ref, str):
        return None
    match = _EXACT.match(ref)
    if match:
        return "number", int(match.group(1))
    try:
        return "id", uuid.UUID(ref.strip())
    except ValueError:
        return None


def parse_typed(text):
    """The number a customer typed ('tkt-42', ' TKT-00042 ', 'TKT 42', '42') in its canonical form, or None."""
    match = _TYPED.match(text) if isinstance(text, str) else None
    return format_ticket_number(int(match.group(1))) if match else None
