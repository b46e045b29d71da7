"""The missed-chat e-mail: a chat its customer left before any agent answered (chat.conversation_missed)
gets the customer its transcript and a way back (the tracker link of a ticket made from it, else the
chat page to start again). Rules with no broker or database, like emails.py, whose delivery log
(one delivery per event id and kind: exactly once) and rendering they share."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from shared.contracts.events import MalformedEvent, parse_envelope

CHAT_TRANSCRIPT = "chat_transcript"
SUBJECT = "Your chat with {sender}: we missed you"
# Lines of the transcript the e-mail shows (the event carries the newest 200 at most).
TRANSCRIPT_LINES = 200


class _Conversation(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    customer_name = fields.String(required=True)
    customer_email = fields.String(required=True)
    ticket_numbers = fields.List(fields.String(), load_default=list)
    client_id = fields.String(load_default=None)  # whose numbers they are (numbers repeat across clients)


class _Message(Schema):
    class Meta:
        unknown = EXCLUDE

    author = fields.String(required=True)
    author_name = fields.String(required=True)
    body = fields.String(required=True)
    created_at = fields.String(required=True)


def plan(payload):
    """The transcript e-mail a chat.conversation_missed envelope owes (an emails.Plan); raises
    MalformedEvent for an unreadable one."""
    from services.notifier.emails import Plan  # emails.py dispatches to this module

    try:
        envelope = parse_envelope(payload)
        data = envelope["data"]
        conversation = _Conversation().load(data.get("conversation") or {})
        messages = _Message(many=True).load(data.get("messages") or [])
        page_url = data.get("page_url")
        if page_url is not None and not isinstance(page_url, str):
            raise ValidationError({"page_url": ["Not a string."]})
    except (ValidationError, AttributeError, TypeError) as exc:
        raise MalformedEvent(str(exc)) from None
    tickets = conversation["ticket_numbers"]
    return Plan(
        event_id=envelope["event_id"],
        event_type=envelope["event_type"],
        kind=CHAT_TRANSCRIPT,
        ticket_id=conversation["id"],  # the log's subject: here the conversation
        ticket_number=tickets[-1] if tickets else "",
        recipient=conversation["customer_email"],
        context={
            "conversation_id": str(conversation["id"]),
            "customer_name": conversation["customer_name"],
            "ticket_number": tickets[-1] if tickets else None,
            "client_id": conversation["client_id"],
            "page_url": page_url if page_url and page_url.startswith(("http://", "https://")) else None,
            "messages": [dict(m) for m in messages[-TRANSCRIPT_LINES:]],
        },
        occurred_at=envelope["occurred_at"],
    )


def subject(sender_name):
    return SUBJECT.format(sender=sender_name)


def with_links(context, recipient, settings):
    """The context plus its way back, made once when the delivery is recorded: the signed tracker
    link of the newest ticket made from the chat, if any."""
    number = context.get("ticket_number")
    link = settings.links.url(settings.public_base_url, number, recipient, context.get("client_id")) if number else None
    return {**context, "tracking_url": link}


def variables(context, settings, display_time):
    """What the chat_transcript templates read."""
    return {
        "customer_name": context.get("customer_name") or None,
        "messages": [
            {"who": "You" if m["author"] == "customer" else m["author_name"], "body": m["body"],
             "time": display_time(m["created_at"]), "system": m["author"] == "system"}
            for m in context["messages"]
        ],
        "ticket_number": context.get("ticket_number"),
        "tracking_url": context.get("tracking_url"),
        "chat_url": context.get("page_url"),
        "tracker_url": f"{settings.public_base_url.rstrip('/')}/track-ticket",
        "sender_name": settings.sender_name,
        "subject": subject(settings.sender_name),
    }
