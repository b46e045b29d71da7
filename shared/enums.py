"""Enumerated values that cross service boundaries (ticket fields, event names)."""

TICKET_STATUSES = ("open", "in_progress", "pending", "resolved", "closed")
TICKET_PRIORITIES = ("low", "medium", "high", "urgent")
TICKET_CATEGORIES = ("general", "technical", "billing", "account", "feature_request", "other")

# Statuses that mean "the issue has been addressed": they stamp resolved_at/closed_at
# and make the notifier send a resolution email instead of a plain update.
RESOLVED_STATUSES = ("resolved", "closed")

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_DELETED = "ticket.deleted"
