"""The tickets feed carries a thread's new messages to the console (console/feeds.py), by the ticket's client."""
from services.tracker_gateway.console.feeds import FEEDS
from shared.contracts.enums import TICKET_MESSAGE_ADDED


def test_the_tickets_feed_forwards_new_messages_to_their_ticket_s_client():
    feed = FEEDS["tickets"]
    assert TICKET_MESSAGE_ADDED in feed.routing_keys
    data = {"ticket": {"client_id": "acme", "ticket_number": "TKT-00001"},
            "message": {"id": 7, "visibility": "internal", "author_type": "agent"}, "actor": "ann@acme.example"}
    assert feed.tenant_of(data) == "acme"
