"""The tickets service: numbering, persistence and the ticket.* events."""
