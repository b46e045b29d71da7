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

CONVERSATION_STATUSES = ("open", "closed")
# Who wrote a chat message: the customer, an agent, or the chat service itself (ticket links, closing).
MESSAGE_AUTHORS = ("customer", "agent", "system")

CHAT_CONVERSATION_STARTED = "chat.conversation_started"
CHAT_MESSAGE_POSTED = "chat.message_posted"
CHAT_CONVERSATION_ASSIGNED = "chat.conversation_assigned"
CHAT_CONVERSATION_CLOSED = "chat.conversation_closed"
# A conversation the customer left before any agent answered: with its transcript, for the e-mail.
CHAT_CONVERSATION_MISSED = "chat.conversation_missed"
