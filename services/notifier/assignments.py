"""The e-mail an agent gets when someone else assigns a ticket to them (issue 14): on ticket.created
or ticket.updated whose assignee is set to an agent other than the actor, if that agent is an active
agent of the ticket's client who keeps the "assignments" preference on (the directory, contract B;
on by default). One delivery per event (its `event_id` and the kind), retried like every email.
"""
import uuid

from marshmallow import ValidationError, fields

from shared.contracts.enums import TICKET_CREATED, TICKET_UPDATED
from shared.contracts.events import MalformedEvent, parse_envelope

from .emails import Plan, _one_line, display_value, render
from .emails import _TicketSchema as TicketPayloadSchema

ASSIGNMENT = "assignment"
KINDS = (ASSIGNMENT,)
TITLE_MAX = 120


class _TicketSchema(TicketPayloadSchema):
    """The customer e-mails' reading of the ticket, plus whose it is (the directory is per client)."""

    client_id = fields.String(required=True)


def _same(a, b):
    return (a or "").strip().lower() == (b or "").strip().lower()


def assignee_of(payload):
    """(envelope, ticket, assignee) when the event assigns the ticket to someone other than its actor;
    None otherwise. Raises MalformedEvent for an unreadable event."""
    try:
        envelope = parse_envelope(payload)
        data = envelope["data"]
        ticket = _TicketSchema().load(data.get("ticket") or {})
        changes = data.get("changes") or {}
        if not isinstance(changes, dict):
            raise ValidationError({"changes": ["Not a mapping."]})
    except (ValidationError, AttributeError, TypeError) as exc:
        raise MalformedEvent(str(exc)) from None
    if envelope["event_type"] == TICKET_UPDATED:
        change = changes.get("assigned_to")
        assignee = change.get("to") if isinstance(change, dict) else None
    elif envelope["event_type"] == TICKET_CREATED:
        assignee = ticket["assigned_to"]
    else:
        return None
    if not assignee or not isinstance(assignee, str) or _same(assignee, data.get("actor")):
        return None
    try:
        uuid.UUID(ticket["client_id"])  # the directory's clients are the gateway's, by UUID
    except ValueError:
        return None
    return envelope, ticket, assignee


def plan(envelope, ticket, agent, actor_name):
    """The delivery to `agent` (a directory entry) for this assignment."""
    context = {
        "assignment": {
            "ticket_number": ticket["ticket_number"], "title": ticket["title"],
            "status": ticket["status"], "priority": ticket["priority"],
        },
        "agent_name": agent.get("name") or agent["email"],
        "customer_name": agent.get("name") or agent["email"],  # the layout's greeting
        "assigned_by": actor_name,
    }
    return Plan(
        event_id=envelope["event_id"], event_type=envelope["event_type"], kind=ASSIGNMENT,
        ticket_id=ticket["id"], ticket_number=ticket["ticket_number"], recipient=agent["email"],
        context=context, occurred_at=envelope["occurred_at"], subject=subject_for(context),
    )


def subject_for(context):
    ticket = context["assignment"]
    return f"[{ticket['ticket_number']}] Assigned to you: {_one_line(ticket['title'], TITLE_MAX)}"


def compose(kind, context, recipient, event_id, settings):
    ticket = context["assignment"]
    variables = {
        **context,
        "ticket": ticket,
        "shown": {field: display_value(field, ticket[field]) for field in ("status", "priority")},
        "console_url": f"{settings.public_base_url.rstrip('/')}/agent/tickets?ticket={ticket['ticket_number']}",
        "subject": subject_for(context),
        "sender_name": settings.sender_name,
    }
    return render(kind, variables, recipient, context["agent_name"], event_id, settings, template="assignment")
