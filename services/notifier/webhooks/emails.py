"""The e-mail to a client's admins when one of its webhooks is switched off for failing too long: one
delivery per admin through the notifier's delivery log (sent, retried and never doubled like every e-mail)."""
import uuid

import sqlalchemy as sa

from .. import directory
from ..emails import Plan, render
from ..models import WebhookDelivery

KIND = "webhook_disabled"
KINDS = (KIND,)


def plans(session, endpoint, now):
    """One Plan per active admin of the endpoint's client (none if the directory knows of none)."""
    try:
        client_uuid = uuid.UUID(endpoint.client_id)
    except ValueError:
        return []
    client = directory.client_by_id(session, client_uuid)
    last = session.scalar(sa.select(WebhookDelivery.last_error).where(WebhookDelivery.endpoint_id == endpoint.id)
                          .order_by(WebhookDelivery.updated_at.desc()).limit(1))
    result = []
    for agent in directory.admins(session, client_uuid):
        context = {"agent_name": agent["name"], "client_name": client["name"] if client else "your team",
                   "url": endpoint.url, "reason": endpoint.disabled_reason, "last_error": last,
                   "webhook_id": str(endpoint.id)}
        result.append(Plan(
            # Owed once per switch-off and admin: the delivery log keys on (event, kind).
            event_id=uuid.uuid5(endpoint.id, f"disabled:{endpoint.disabled_at.isoformat()}:{agent['email']}"),
            event_type="webhook.disabled", kind=KIND,
            ticket_id=uuid.uuid5(uuid.NAMESPACE_URL, f"deskline:webhook:{endpoint.id}"), ticket_number="",
            recipient=agent["email"], context=context, occurred_at=now, subject=subject_for(context),
        ))
    return result


def subject_for(context):
    return f"Webhook switched off: {context['url'][:120]}"


def compose(kind, context, recipient, event_id, settings):
    variables = {
        **context,
        "subject": subject_for(context),
        "webhooks_url": f"{settings.public_base_url.rstrip('/')}/agent/webhooks",
        "sender_name": settings.sender_name,
        "customer_name": context["agent_name"],  # the layout's greeting
    }
    return render(kind, variables, recipient, context["agent_name"], event_id, settings, template=KIND)
