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
# The SLA scheduler's: 80 % of a target used, and the target missed (each once per ticket and target).
TICKET_SLA_WARNING = "ticket.sla_warning"
TICKET_SLA_BREACHED = "ticket.sla_breached"
SLA_TARGETS = ("first_response", "resolution")
SLA_FILTERS = ("breached", "due_soon")
# A customer rated how the ticket was resolved (CSAT: services/tickets/ratings.py); the latest rating counts.
TICKET_RATED = "ticket.rated"
RATINGS = ("good", "okay", "bad")
# A message joined a ticket's thread (a customer's, an agent's public reply, or an internal note).
TICKET_MESSAGE_ADDED = "ticket.message_added"

# Where a ticket came from, and where each message of its thread was written.
TICKET_CHANNELS = ("chat", "email", "web", "agent", "api")
MESSAGE_CHANNELS = ("email", "tracker", "web", "chat", "agent")
# Internal notes are for agents only: never e-mailed, never shown to the customer.
MESSAGE_VISIBILITIES = ("public", "internal")

CONVERSATION_STATUSES = ("open", "closed")
# Who wrote a chat message: the customer, an agent, or the chat service itself (ticket links, closing).
MESSAGE_AUTHORS = ("customer", "agent", "system")

CHAT_CONVERSATION_STARTED = "chat.conversation_started"
CHAT_MESSAGE_POSTED = "chat.message_posted"
CHAT_CONVERSATION_ASSIGNED = "chat.conversation_assigned"
CHAT_CONVERSATION_CLOSED = "chat.conversation_closed"
# A conversation the customer left before any agent answered: with its transcript, for the e-mail.
CHAT_CONVERSATION_MISSED = "chat.conversation_missed"

# The directory of clients and agents (contract B): the gateway owns them and publishes, as service
# "directory", a full snapshot of one client and its agents after every change and at every start.
DIRECTORY_SERVICE = "directory"
DIRECTORY_CLIENT_CHANGED = "directory.client_changed"
# What an agent may ask to be e-mailed about (their profile's preferences; both default on).
AGENT_NOTIFY_KINDS = ("customer_messages", "assignments")
AGENT_ROLES = ("admin", "agent")
# What became of an inbound email (the notifier's inbound_messages.status; services/notifier/inbound/intake.py).
INBOUND_STATUSES = ("added", "created", "ignored", "refused", "unparseable", "failed")
