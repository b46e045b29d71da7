"""Reading what an inbound mail says about its ticket: reply tokens and client slugs in the
recipients (`support+<token>@domain`, `<slug>@domain`), the `[TKT-nnnnn]` subject tag."""
import re
from dataclasses import dataclass

from shared.contracts.ticket_numbers import format_ticket_number

REPLY_LOCAL = "support"
_TOKEN = re.compile(r"[a-z2-7]{16,64}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TAG = re.compile(r"\[\s*TKT-(\d{5,12})\s*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Addressed:
    tokens: tuple  # reply tokens found in our domain's addresses
    slugs: tuple  # client slugs found (`<slug>@domain`)
    ours: tuple  # every recipient in our domain (known or not)


def reply_address(token, domain):
    return f"{REPLY_LOCAL}+{token}@{domain}"


def read_recipients(recipients, domain):
    """Tokens and slugs, in the order the recipients came (the envelope's first)."""
    domain = domain.lower()
    tokens, slugs, ours = [], [], []
    for address in recipients:
        address = (address or "").strip().strip("<>").lower()
        local, _, at = address.rpartition("@")
        if at != domain or not local:
            continue
        ours.append(address)
        base, plus, detail = local.partition("+")
        if base == REPLY_LOCAL and plus:
            if _TOKEN.fullmatch(detail):
                tokens.append(detail)
        elif _SLUG.fullmatch(base) and base != REPLY_LOCAL:
            slugs.append(base)
    return Addressed(tuple(dict.fromkeys(tokens)), tuple(dict.fromkeys(slugs)), tuple(dict.fromkeys(ours)))


def subject_number(subject):
    """The ticket number in a `[TKT-00012]` tag, canonical, or None."""
    match = _TAG.search(subject or "")
    return format_ticket_number(int(match.group(1))) if match else None
