"""(Re)building the tracker's read model from the tickets service, for tickets that existed before
the projector listened (a fresh projector on an old system, a flushed Redis, a lost event)."""
import logging

from .tracker_view import entries_from_history, timeline_entry

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # the tickets service's per_page maximum


def entries_from_snapshot(ticket):
    """A timeline from the ticket alone, when its history is not fetched: creation and resolution."""
    entries = [timeline_entry("created", ticket["created_at"])]
    if ticket.get("resolved_at"):
        entries.append(timeline_entry("status", ticket["resolved_at"], None, "resolved"))
    if ticket.get("closed_at"):
        entries.append(timeline_entry("status", ticket["closed_at"], None, "closed"))
    return entries


def backfill(view, tickets, client_ids, with_history=True):
    """Store every live ticket of these clients; returns how many. `tickets` is an RPC proxy to the
    tickets service. Safe while events flow: older snapshots never replace newer ones."""
    count = 0
    for client_id in client_ids:
        page = 1
        while True:
            result = tickets.list_tickets(
                {"client_id": client_id, "sort": "ticket_number", "page": page, "per_page": PAGE_SIZE}
            )
            for ticket in result["items"]:
                if with_history:
                    entries = entries_from_history(tickets.get_history(ticket["id"], client_id=client_id))
                else:
                    entries = entries_from_snapshot(ticket)
                view.apply_snapshot(ticket, entries)
                count += 1
            if page * PAGE_SIZE >= result["total"] or not result["items"]:
                break
            page += 1
        log.info("tracker backfill: client %s done, %d tickets so far", client_id, count)
    return count
