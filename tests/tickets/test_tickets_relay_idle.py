"""The outbox relay at rest (shared/platform/outbox.py, RelayTimer): it backs off while it finds
nothing, so an idle service costs next to nothing, and yet a new ticket's event still goes out at
once, a row a crashed process left goes out within the cap, and a failed fast path wakes it."""
import time

import pytest

from services.tickets import operations
from services.tickets.service import TicketsService
from shared.platform.outbox import RELAY_MIN_SECONDS, RelayTimer
from shared.testing import EventCollector, rpc_proxy, wait_for

NEW = {"title": "VPN drops", "description": "Every hour", "client_id": "acme", "customer_email": "c@acme.io"}
CAP = 4.0


@pytest.fixture
def quiet_tickets(container_factory, tickets_config):
    container = container_factory(TicketsService, {**tickets_config, "OUTBOX_RELAY_MAX_SECONDS": CAP})
    container.start()
    return container


def backed_off_relay(container):
    """The service's relay timer, once idle ticks have taken it to the cap (1 s, 2 s, 4 s: ~7 s)."""
    relay = next(entrypoint for entrypoint in container.entrypoints if isinstance(entrypoint, RelayTimer))
    wait_for(lambda: relay.interval == CAP, timeout=30, interval=0.1, message="the relay to back off to its cap")
    return relay


def test_a_new_ticket_goes_out_at_once_after_the_relay_backed_off(quiet_tickets, amqp_uri):
    backed_off_relay(quiet_tickets)
    with EventCollector(amqp_uri, "tickets", routing_key="ticket.created") as events, rpc_proxy(amqp_uri) as rpc:
        asked = time.monotonic()
        number = rpc.tickets.create_ticket(NEW)["ticket_number"]
        events.wait_for(lambda got: len(got) == 1, timeout=10, message="ticket.created")
        assert time.monotonic() - asked < 2.0
    assert events.events[0]["data"]["ticket"]["ticket_number"] == number


def test_a_row_left_unpublished_goes_out_within_the_cap(quiet_tickets, session_factory, amqp_uri):
    """A crash between commit and publish, while the relay is at its slowest: at most the cap (plus
    the fast path's grace) later, the relay publishes it."""
    backed_off_relay(quiet_tickets)
    with EventCollector(amqp_uri, "tickets", routing_key="ticket.created") as events:
        with session_factory() as session:
            operations.create_ticket(session, NEW)
            session.commit()
        committed = time.monotonic()
        events.wait_for(lambda got: len(got) == 1, timeout=20, message="the relayed event")
        assert time.monotonic() - committed < CAP + 2 + 2  # the cap, the grace, and slack


def test_a_failed_fast_path_wakes_the_relay(quiet_tickets):
    relay = backed_off_relay(quiet_tickets)
    RelayTimer.wake_all()  # what publish_committed does when the broker refuses an event
    assert relay.interval == RELAY_MIN_SECONDS
