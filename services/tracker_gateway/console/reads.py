"""Reads the agent console needs beyond the ticket API, scoped to the agent's client: a ticket's
panel (the ticket, its history and thread, the customer's tracking link) and the e-mails sent about it.

They are the console's own (not in the OpenAPI document): the public agent API stays the ticket
endpoints, which the console uses for everything else (list, update, delete).
"""
from flask import Blueprint, current_app, g, jsonify

from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.core.rpc import RemoteService, tickets

bp = Blueprint("api_console", __name__, url_prefix="/api/console")

# What an agent sees of a delivery (the notifier's log has more: ids, provider ids, leases).
DELIVERY_FIELDS = ("kind", "recipient", "subject", "status", "attempts", "last_error", "occurred_at",
                   "created_at", "sent_at", "next_attempt_at")


@bp.get("/tickets/<ref>")
@login_required
def ticket_panel(ref):
    """The ticket, its history and thread (oldest first) and where the customer can follow it."""
    client_id = g.principal.client_id
    ticket = tickets().get_ticket(ref, client_id=client_id)
    history = tickets().get_history(ticket["id"], client_id=client_id)
    messages = tickets().list_messages(ticket["id"], client_id=client_id)
    base_url = current_app.config["PUBLIC_BASE_URL"]
    email = ticket.get("customer_email")
    return jsonify({
        "ticket": ticket,
        "history": history,
        "messages": messages,
        # Signed, bound to the number and the e-mail: it opens the ticket without the form.
        "tracking_url": current_app.extensions["tracking_links"].url(base_url, ticket["ticket_number"], email, ticket.get("client_id")) if email else None,
        "tracker_url": f"{base_url.rstrip('/')}/track-ticket",
    })


@bp.get("/tickets/<ref>/emails")
@login_required
def ticket_emails(ref):
    """The e-mails the notifier owes or sent for this ticket, oldest first; 503 when it does not answer
    (the console shows the timeline without them)."""
    ticket = tickets().get_ticket(ref, client_id=g.principal.client_id)  # the tenancy check
    deliveries = RemoteService("notifier").get_deliveries(ticket["id"])
    return jsonify({"items": [{key: delivery.get(key) for key in DELIVERY_FIELDS} for delivery in deliveries]})
