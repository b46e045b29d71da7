"""E-mails to agents about their account: an invitation to join a team and a password reset, each
carrying a single-use link the gateway made (it alone can check it). One email per request id,
through the delivery log like every email (retried, never sent twice for one request)."""
import uuid
from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.contracts.exceptions import ValidationError as InvalidRequest

from .emails import Plan, _one_line, display_time, render

INVITATION, PASSWORD_RESET = "invitation", "password_reset"
KINDS = (INVITATION, PASSWORD_RESET)


class _ContextSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    agent_name = fields.String(required=True, validate=validate.Length(max=200))
    client_name = fields.String(required=True, validate=validate.Length(max=200))
    link_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    expires_at = fields.String(required=True)
    invited_by = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=200))


def subject_for(kind, context):
    client = _one_line(context["client_name"], 120)
    if kind == INVITATION:
        return f"You are invited to join {client} on Deskline"
    return f"Reset your Deskline password ({client})"


def plan(request_id, kind, recipient, context):
    """The delivery for one request; `request_id` is its idempotency key. Invalid input: ValidationError."""
    if kind not in KINDS:
        raise InvalidRequest({"kind": [f"must be one of {', '.join(KINDS)}"]})
    try:
        context = _ContextSchema().load(context if isinstance(context, dict) else {})
        request_uuid = uuid.UUID(str(request_id))
    except ValidationError as exc:
        raise InvalidRequest(exc.messages) from None
    except ValueError:
        raise InvalidRequest({"request_id": ["not a UUID"]}) from None
    return Plan(
        event_id=request_uuid,
        event_type=f"agent.{kind}",
        kind=kind,
        # Deliveries are filed by ticket: an agent's emails under a stable id made from the address.
        ticket_id=uuid.uuid5(uuid.NAMESPACE_URL, f"deskline:agent:{(recipient or '').strip().lower()}"),
        ticket_number="",
        recipient=recipient,
        context=context,
        occurred_at=datetime.now(timezone.utc),
        subject=subject_for(kind, context),
    )


def compose(kind, context, recipient, event_id, settings):
    variables = {
        **context,
        "subject": subject_for(kind, context),
        "expires": display_time(context["expires_at"]) or context["expires_at"],
        "sender_name": settings.sender_name,
        "customer_name": context["agent_name"],  # the layout's greeting
    }
    return render(kind, variables, recipient, context["agent_name"], event_id, settings, template=f"agent_{kind}")
