"""(Re)building the tracker's read model from the tickets service, for tickets that existed before
the projector listened (a fresh projector on an old system, a flushed Redis, a lost event)."""
import logging
from datetime import datetime, timezone

from nameko.standalone.rpc import ClusterRpcProxy

import shared.contracts.exceptions  # noqa: F401  (typed remote errors)
from services.tracker_gateway.projector.read_model import entries_from_history, timeline_entry

log = logging.getLogger(__name__)

PAGE_SIZE = 500  # the tickets service's export maximum
# A page of 500 tickets with their history can take a while on a loaded system.
RPC_TIMEOUT = 30


def entries_from_snapshot(ticket):
    """A timeline from the ticket alone, when its history is not fetched: creation and resolution."""
    entries = [timeline_entry("created", ticket["created_at"])]
    if ticket.get("resolved_at"):
        entries.append(timeline_entry("status", ticket["resolved_at"], None, "resolved"))
    if ticket.get("closed_at"):
        entries.append(timeline_entry("status", ticket["closed_at"], None, "closed"))
    return entries


def backfill(view, tickets, with_history=True):
    """Store every live ticket; returns how many. `tickets` is an RPC proxy to the tickets service,
    whose export pages through all clients in (client, number) order. Safe while events flow: older
    snapshots never replace newer ones."""
    count, after, client = 0, 0, ""
    while after is not None:
        page = tickets.export_tickets(after_number=after, limit=PAGE_SIZE, after_client=client)
        for ticket in page["items"]:
            history = ticket.pop("history")
            view.apply_snapshot(ticket, entries_from_history(history) if with_history else entries_from_snapshot(ticket))
        count += len(page["items"])
        after, client = page["next_after"], page.get("next_client")
        log.info("tracker backfill: %d tickets so far", count)
    return count


def run_backfill(view, config, with_history=True):
    """Backfill through a standalone proxy of its own, then mark the read model filled.

    A standalone proxy, not nameko's RpcProxy: its reply queue exists before the first call, and
    its calls time out instead of hanging.
    """
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"]}, timeout=RPC_TIMEOUT) as rpc:
        count = backfill(view, rpc.tickets, with_history=with_history)
    view.mark_backfilled(datetime.now(timezone.utc).isoformat())
    return count
