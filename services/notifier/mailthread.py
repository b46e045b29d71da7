"""Threading a ticket's emails: the headers every outgoing email carries (Message-ID of its own,
In-Reply-To/References of the ticket's thread, Reply-To with the ticket's token), and the reverse:
which ticket an inbound mail's In-Reply-To/References point at through our own Message-IDs.

Every email of a ticket references one root id, `<ticket-<ticket id>@<sender domain>>`, that no
message carries: mail clients thread on the shared reference (Gmail also on the subject), and an
inbound reply that quotes only the root still finds its ticket."""
import re
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from .inbound.matching import reply_address
from .models import Delivery, InboundMessage, MailThread

REFERENCES_MAX = 10  # the root and the newest few: enough for every client's threading
_THREAD = "mailthread.thread"  # session.info key: a thread's (token, client) remembered in this session
_ROOT = re.compile(r"^<ticket-([0-9a-f-]{36})@[^>]+>$")


def sender_domain(settings):
    return settings.sender_email.rsplit("@", 1)[-1].lower() or "deskline.localhost"


def root_id(ticket_id, settings):
    return f"<ticket-{ticket_id}@{sender_domain(settings)}>"


def remember(session, ticket, now=None):
    """Keep a ticket's reply token and client from an event's ticket dump (newest wins)."""
    number, ticket_id = ticket.get("ticket_number"), ticket.get("id")
    if not number or not ticket_id:
        return
    values = dict(
        ticket_number=number, ticket_id=uuid.UUID(str(ticket_id)), client_id=ticket.get("client_id"),
        reply_token=ticket.get("reply_token"), updated_at=now or datetime.now(timezone.utc),
    )
    thread = session.execute(
        insert(MailThread).values(**values).on_conflict_do_update(
            index_elements=[MailThread.ticket_id],
            set_={"client_id": values["client_id"], "updated_at": values["updated_at"],
                  # an event without the token (an older producer) does not erase a known one
                  "reply_token": sa.func.coalesce(insert(MailThread).excluded.reply_token, MailThread.reply_token)},
        ).returning(MailThread.reply_token, MailThread.client_id)
    ).one()
    # The thread as this transaction left it: headers_for reads it here, not in one more query.
    session.info[(_THREAD, values["ticket_id"])] = (thread.reply_token, thread.client_id)


def headers_for(session, ticket_number, ticket_id, own_message_id, settings, in_reply_to=None):
    """{"in_reply_to", "references", "reply_to"} for a new email of this ticket.

    References: the root, then the ticket's earlier emails both ways (ours from the delivery log,
    the customer's from the inbound log), oldest first. In-Reply-To: `in_reply_to` if given, else the
    customer's last mail if there is one, else our last email, else the root."""
    ticket_uuid = uuid.UUID(str(ticket_id))
    known = session.info.get((_THREAD, ticket_uuid))
    if known is None:
        thread = session.get(MailThread, ticket_uuid)
        known = (thread.reply_token, thread.client_id) if thread else (None, None)
    token, client_id = known
    # Numbers repeat across clients: our e-mails by ticket id, the customer's by number within the client
    # (a mail recorded before its client was known has none: still this number's).
    inbound_client = ([sa.or_(InboundMessage.client_id == str(client_id), InboundMessage.client_id.is_(None))]
                      if client_id else [])
    # Both logs in one round trip: each side's newest REFERENCES_MAX, newest first within its side.
    ours_query = (
        sa.select(sa.literal("ours").label("side"), Delivery.message_id.label("message_id"),
                  Delivery.created_at.label("at"), Delivery.id.label("id"))
        .where(Delivery.ticket_id == ticket_uuid, Delivery.message_id.is_not(None),
               Delivery.message_id != own_message_id, Delivery.kind.in_(CUSTOMER_KINDS))
        .order_by(Delivery.id.desc()).limit(REFERENCES_MAX)
    )
    theirs_query = (
        sa.select(sa.literal("theirs").label("side"), InboundMessage.message_id.label("message_id"),
                  InboundMessage.received_at.label("at"), InboundMessage.id.label("id"))
        .where(InboundMessage.ticket_number == ticket_number, InboundMessage.message_id.is_not(None), *inbound_client,
               InboundMessage.status.in_(("added", "created")))
        .order_by(InboundMessage.id.desc()).limit(REFERENCES_MAX)
    )
    both = sa.union_all(ours_query.subquery().select(), theirs_query.subquery().select()).subquery()
    rows = session.execute(sa.select(both.c.side, both.c.message_id, both.c.at).order_by(both.c.id.desc())).all()
    ours = [(row.message_id, row.at) for row in rows if row.side == "ours"]
    theirs = [(row.message_id, row.at) for row in rows if row.side == "theirs"]
    root = root_id(ticket_id, settings)
    earlier = [message_id for message_id, _ in sorted([*ours, *theirs], key=lambda row: row[1])]
    earlier = list(dict.fromkeys(earlier))[-(REFERENCES_MAX - 1):]
    last_inbound = theirs[0][0] if theirs else None
    return {
        "in_reply_to": in_reply_to or last_inbound or (earlier[-1] if earlier else root),
        "references": [root, *earlier],
        "reply_to": reply_address(token, settings.inbound_email_domain) if token else None,
    }


def ticket_for_message_ids(session, message_ids):
    """The thread (MailThread: ticket id, number, client) the nearest of these Message-IDs (ours)
    belongs to, or None. By ticket id: numbers repeat across clients."""
    if not message_ids:
        return None
    found = dict(session.execute(
        sa.select(Delivery.message_id, Delivery.ticket_id).where(Delivery.message_id.in_(message_ids))
    ).all())
    for message_id in message_ids:
        match = _ROOT.match(message_id)
        ticket_id = found.get(message_id) or (uuid.UUID(match.group(1)) if match else None)
        thread = session.get(MailThread, ticket_id) if ticket_id else None
        if thread is not None:  # (a tracking-link e-mail's id names no ticket: the next id may)
            return thread
    return None


def is_our_message_id(session, message_id, settings):
    """True for a Message-ID we wrote (the mail is ours coming back: a loop)."""
    if not message_id:
        return False
    if message_id.endswith(f"@{sender_domain(settings)}>") and (
        _ROOT.match(message_id) or session.scalar(sa.select(Delivery.id).where(Delivery.message_id == message_id).limit(1))
    ):
        return True
    return False


# The kinds whose emails are the customer's thread (agent notices are not).
CUSTOMER_KINDS = ("created", "updated", "resolved", "reply", "tracking_link")
