"""The SLA scheduler in two tickets-service processes at once: 200 tickets cross their targets (and 200 more
their warning), and each warning and each breach is published exactly once (claimed with SKIP LOCKED,
marked under the row lock)."""
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

        # 200 urgent tickets (1 h first response, 24/7) opened just under an hour ago: they breach 2 to 6 s from
        # now, while both schedulers run (whether their warning still goes out first depends on how soon a tick
        # sees it: a warning whose target is already breached is skipped). And 200 high tickets (4 h) opened 3 h
        # 20 min ago: their 80 % warning is due at once, their breach 40 minutes away.
        now = datetime.now(timezone.utc)
        with session_factory() as session:
            for index in range(TICKETS):
                for priority, opened in (("urgent", now - timedelta(hours=1) + timedelta(seconds=2 + index % 5)),
                                         ("high", now - timedelta(hours=3, minutes=20))):
                    operations.create_ticket(session, {"title": f"Outage {index}", "description": "down",
                                                       "client_id": "acme", "priority": priority}, now=opened)
            session.commit()

        def sla_events(event_type=None, priority=None):
            """Distinct events (by event_id): the outbox delivers at least once, a consumer keeps one copy."""
            events = {e["event_id"]: e for e in collector.events if e["event_type"].startswith("ticket.sla_")}
            return [e for e in events.values() if event_type in (None, e["event_type"])
                    and priority in (None, e["data"]["ticket"]["priority"])]

        collector.wait_for(lambda got: len(sla_events("ticket.sla_breached")) >= TICKETS
                           and len(sla_events("ticket.sla_warning", "high")) >= TICKETS, timeout=90,
                           message="200 breaches and 200 warnings")
        # Ten more ticks of each instance: nothing else may come.
        with pytest.raises(AssertionError, match="timed out"):
            collector.wait_for(lambda got: len(sla_events("ticket.sla_breached")) > TICKETS
                               or len(sla_events("ticket.sla_warning", "high")) > TICKETS, timeout=2,
                               message="a duplicate")
        assert all(instance.process.poll() is None for instance in instances)
        events = sla_events()
        per_ticket = Counter((e["data"]["ticket"]["id"], e["event_type"], e["data"]["target"]) for e in events)
        assert set(per_ticket.values()) == {1}  # no ticket heard of the same target and kind twice
        assert {e["data"]["ticket"]["priority"] for e in sla_events("ticket.sla_breached")} == {"urgent"}
        assert len({e["data"]["ticket"]["id"] for e in sla_events("ticket.sla_breached")}) == TICKETS
        assert len({e["data"]["ticket"]["id"] for e in sla_events("ticket.sla_warning", "high")}) == TICKETS
        assert {target for _, _, target in per_ticket} == {"first_response"}
        with session_factory() as session:
            timeline = Counter(session.execute(
                sa.select(TicketChange.ticket_id, TicketChange.action).where(TicketChange.action.like("sla_%"))
            ).all())
        # The timeline says exactly what was published.
        assert set(timeline.values()) == {1}
        assert {(str(ticket_id), f"ticket.{action}") for ticket_id, action in timeline} == {
            (ticket_id, event_type) for ticket_id, event_type, _ in per_ticket}
    finally:
        collector.disconnect()
        for instance in instances:
            instance.stop()
