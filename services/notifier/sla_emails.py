"""E-mails to agents about SLA targets: `ticket.sla_warning` (80 % of a target used) and
`ticket.sla_breached`. They go to the ticket's assignee if that is an active agent of the client, else
to the client's active admins (the directory, contract B). One delivery per event and recipient, through
the delivery log like every email (retried, never sent twice for one event)."""
import uuid

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from shared.contracts.enums import TICKET_SLA_BREACHED, TICKET_SLA_WARNING
from shared.contracts.events import MalformedEvent, parse_envelope

from . import directory
from .emails import Plan, _one_line, display_time, render

KINDS = {TICKET_SLA_WARNING: "sla_warning", TICKET_SLA_BREACHED: "sla_breached"}
TARGET_LABELS = {"first_response": "first response", "resolution": "resolution"}


class _TicketSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    ticket_number = fields.String(required=True)
    client_id = fields.String(required=True)
    title = fields.String(required=True)
    priority = fields.String(required=True)
    status = fields.String(required=True)
    assigned_to = fields.String(allow_none=True, load_default=None)


class _DataSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    ticket = fields.Nested(_TicketSchema, required=True)
    target = fields.String(required=True)
    due_at = fields.String(required=True)


def recipients(session, client_id, assignee):
    """The assignee if an active agent of this client, else the client's active admins."""
    if assignee:
        agent = directory.agent_by_email(session, assignee)
        if agent is not None and agent["active"] and agent["client_id"] == client_id:
            return [agent]
    return directory.admins(session, client_id)


def plans(session, payload):
    """The deliveries an SLA event calls for (one per recipient); MalformedEvent if it cannot be read."""
    envelope = parse_envelope(payload)
    try:
        data = _DataSchema().load(envelope["data"])
    except ValidationError as exc:
        raise MalformedEvent(f"not an SLA event: {exc.messages}") from None
    kind = KINDS.get(envelope["event_type"])
    if kind is None:
        raise MalformedEvent(f"not an SLA event: {envelope['event_type']}")
    ticket = data["ticket"]
    summary = {key: ticket[key] for key in ("ticket_number", "title", "priority", "status")}
    result = []
    for agent in recipients(session, ticket["client_id"], ticket["assigned_to"]):
        context = {"sla_ticket": summary, "target": data["target"], "due_at": data["due_at"],
                   "agent_name": agent["name"], "assigned": bool(ticket["assigned_to"])}
        result.append(Plan(
            # Per recipient: the delivery log keys on (event, kind), and an event may owe several admins.
            event_id=uuid.uuid5(envelope["event_id"], agent["email"]),
            event_type=envelope["event_type"], kind=kind, ticket_id=ticket["id"],
            ticket_number=ticket["ticket_number"], recipient=agent["email"], context=context,
            occurred_at=envelope["occurred_at"], subject=subject_for(kind, context),
        ))
    return result


def subject_for(kind, context):
    ticket = context["sla_ticket"]
    target = TARGET_LABELS.get(context["target"], context["target"])
    title = _one_line(ticket["title"], 120)
    if kind == "sla_breached":
        return f"[{ticket['ticket_number']}] SLA breached: {target} target missed - {title}"
    return f"[{ticket['ticket_number']}] SLA warning: {target} due soon - {title}"


def compose(kind, context, recipient, event_id, settings):
    ticket = context["sla_ticket"]
    variables = {
        **context,
        "subject": subject_for(kind, context),
        "target_label": TARGET_LABELS.get(context["target"], context["target"]),
        "due": display_time(context["due_at"]) or context["due_at"],
        "breached": kind == "sla_breached",
        "ticket_url": f"{settings.public_base_url.rstrip('/')}/agent/tickets?ticket={ticket['ticket_number']}",
        "sender_name": settings.sender_name,
        "customer_name": context["agent_name"],  # the layout's greeting
    }
    return render(kind, variables, recipient, context["agent_name"], event_id, settings, template="sla_alert")
