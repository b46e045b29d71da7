"""What a customer may see of their ticket, and which changes they are told about.

One rule, read by the notifier (what its emails show and which updates call for one) and by the
public tracker (what its read model keeps and which changes make the customer's timeline). Plain
constants and pure functions: importing this changes nothing.

Field by field, and why:

- shown, and a change is told (emailed, on the tracker's timeline): `status`, `priority`,
  `category`, `title` - what the desk has made of the request and how urgent it is, in the
  customer's own terms;
- shown, a change is not told: `ticket_number`, `description` (the customer's own words; an agent
  tidying them up is not news), `customer_name`, `customer_email` (the customer's own details; the
  tracker keeps only a digest of the address), the times `created_at`, `updated_at`,
  `resolved_at`, `closed_at`;
- `resolution_notes`: an agent's draft until the ticket is resolved, so never on the tracker and
  never in an update; the resolution email quotes them, because that is when they are written for
  the customer;
- never shown: `assigned_to` and `created_by` (agents' login addresses: who works a ticket is the
  desk's internal business and an address is personal data), internal notes, `client_id`,
  `conversation_id`, `id`, the idempotency key.
"""

# What a customer may see of their ticket.
CUSTOMER_FIELDS = (
    "ticket_number", "title", "description", "status", "priority", "category",
    "customer_name", "customer_email", "created_at", "updated_at", "resolved_at", "closed_at",
)
# The changes a customer is told about, in the order they are listed.
NOTIFIED_FIELDS = ("status", "priority", "category", "title")
# Shown only with the resolution (see above).
RESOLUTION_FIELDS = ("resolution_notes",)


def customer_ticket(ticket, fields=CUSTOMER_FIELDS):
    """The customer's view of a ticket dict: only `fields` (a subset of CUSTOMER_FIELDS)."""
    return {field: ticket.get(field) for field in fields}


def customer_changes(changes):
    """The changes a customer is told about, in display order, as {field: {"from", "to"}};
    a field set to what it was is no change."""
    return {
        field: {"from": changes[field].get("from"), "to": changes[field].get("to")}
        for field in NOTIFIED_FIELDS
        if field in changes and changes[field].get("from") != changes[field].get("to")
    }
