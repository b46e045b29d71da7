"""The event feeds an agent page can follow on its live stream (`GET /api/live?feeds=tickets,chat`).

Each names an event exchange, the routing keys a page needs and where the client id sits in an
event's data, so that a stream only ever carries its own client's events.
"""
from dataclasses import dataclass
from typing import Callable

from shared.contracts.enums import (
    CHAT_CONVERSATION_ASSIGNED,
    CHAT_CONVERSATION_CLOSED,
    CHAT_CONVERSATION_STARTED,
    CHAT_MESSAGE_POSTED,
    TICKET_CREATED,
    TICKET_DELETED,
    TICKET_MESSAGE_ADDED,
    TICKET_RATED,
    TICKET_SLA_BREACHED,
    TICKET_SLA_WARNING,
    TICKET_UPDATED,
)


@dataclass(frozen=True)
class Feed:
    """Events from one exchange that pages can follow: `tenant_of(data)` is the client id an event
    belongs to (None: nobody's, dropped)."""

    name: str
    exchange: str
    routing_keys: tuple
    tenant_of: Callable[[dict], object]


# Every feed, by name: a gateway process binds its one queue to all of them.
FEEDS = {feed.name: feed for feed in (
    Feed(name="tickets", exchange="tickets.events",
         # The SLA scheduler's too: a warning or breach lands on the open ticket's timeline at once.
         # And a customer's CSAT rating: it shows on the open ticket at once.
         routing_keys=(TICKET_CREATED, TICKET_UPDATED, TICKET_DELETED, TICKET_MESSAGE_ADDED, TICKET_SLA_WARNING,
                       TICKET_SLA_BREACHED, TICKET_RATED),
         tenant_of=lambda data: data["ticket"]["client_id"]),
    Feed(name="chat", exchange="chat.events",
         routing_keys=(CHAT_CONVERSATION_STARTED, CHAT_MESSAGE_POSTED, CHAT_CONVERSATION_ASSIGNED,
                       CHAT_CONVERSATION_CLOSED),
         tenant_of=lambda data: data["conversation"]["client_id"]),
)}

