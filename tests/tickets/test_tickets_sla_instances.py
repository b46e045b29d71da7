"""The SLA scheduler in two tickets-service processes at once: 200 tickets cross their targets, and each
warning and each breach is published exactly once (claimed with SKIP LOCKED, marked under the row lock)."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from services.tickets import operations
from services.tickets.models import TicketChange
from shared.testing import EventCollector, wait_for
from tests.tickets.test_tickets_instances import rpc_consumers, tickets_processes

pytestmark = pytest.mark.slow

TICKETS = 200


def test_two_instances_publish_each_warning_and_breach_exactly_once(amqp_uri, tickets_db, session_factory):
    instances = tickets_processes(2, amqp_uri, tickets_db)
    for instance in instances:
        instance.env["TICKETS_SLA_TICK_SECONDS"] = "0.2"  # both tick five times a second: they race on purpose
    collector = EventCollector(amqp_uri, "tickets", routing_key="ticket.*").connect()
    try:
        for instance in instances:
            instance.start()
        wait_for(lambda: rpc_consumers(amqp_uri) == "2", timeout=30, interval=0.3, message="two consumers")

        # Urgent tickets (1 h first response, 24/7) opened just under an hour ago: their 80 % warning is due
        # at once, their breach 2 to 6 seconds from now - while both schedulers are running.
        now = datetime.now(timezone.utc)
        with session_factory() as session:
            for index in range(TICKETS):
                opened = now - timedelta(hours=1) + timedelta(seconds=2 + index % 5)
                operations.create_ticket(session, {"title": f"Outage {index}", "description": "down", "client_id": "acme",
                                                   "priority": "urgent"}, now=opened)
            session.commit()

        def sla_events():
            return [e for e in collector.events if e["event_type"].startswith("ticket.sla_")]

        collector.wait_for(lambda got: len(sla_events()) >= 2 * TICKETS, timeout=60, message="400 SLA events")
        # Ten more ticks of each instance: nothing else may come.
        with pytest.raises(AssertionError, match="timed out"):
            collector.wait_for(lambda got: len(sla_events()) > 2 * TICKETS, timeout=2, message="a duplicate")
        assert all(instance.process.poll() is None for instance in instances)
        with session_factory() as session:
            timeline = Counter(session.execute(
                sa.select(TicketChange.ticket_id, TicketChange.action).where(TicketChange.action.like("sla_%"))
            ).all())
        events = sla_events()
        assert len(events) == 2 * TICKETS
        per_ticket = Counter((e["data"]["ticket"]["id"], e["event_type"], e["data"]["target"]) for e in events)
        assert len(per_ticket) == 2 * TICKETS and set(per_ticket.values()) == {1}
        assert Counter(e["event_type"] for e in events) == {"ticket.sla_warning": TICKETS, "ticket.sla_breached": TICKETS}
        assert {target for _, _, target in per_ticket} == {"first_response"}
        assert len(timeline) == 2 * TICKETS and set(timeline.values()) == {1}
        assert len({e["event_id"] for e in events}) == 2 * TICKETS
    finally:
        collector.disconnect()
        for instance in instances:
            instance.stop()
