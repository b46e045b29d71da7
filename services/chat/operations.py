"""What the chat service does, as functions over a SQLAlchemy session (no broker needed).

Each writing function changes the conversation, its messages and the outbox in the caller's
transaction, so they commit together or not at all, and returns the outbox rows to publish.
Writes to one conversation hold its row lock until commit: messages get ids (and times) in
commit order, which makes a message id a safe cursor for "what is new since".
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.contracts.enums import (
    CHAT_CONVERSATION_ASSIGNED,
    CHAT_CONVERSATION_CLOSED,
    CHAT_CONVERSATION_MISSED,
    CHAT_CONVERSATION_STARTED,
    CHAT_MESSAGE_POSTED,
)
from shared.contracts.exceptions import NotFound
from shared.contracts.schemas import load
from shared.platform import outbox

from . import domain, schemas
from .models import Conversation, Message, OutboxEvent, TicketLink

# How many of the newest messages the ticket draft reads for its excerpt.
DRAFT_MESSAGES = 30


def _now():
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- finding a conversation

def _one_conversation(session, condition, client_id, for_update):
    """The conversation matching `condition` (in this client, if given), or None."""
    query = sa.select(Conversation).where(condition)
    if client_id is not None:
        query = query.where(Conversation.client_id == client_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get_conversation_row(session, conversation_id, client_id=None, for_update=False):
    """The conversation with this id (in this client, if given); NotFound otherwise."""
    parsed = domain.parse_id(conversation_id)
    conversation = None if parsed is None else _one_conversation(
        session, Conversation.id == parsed, client_id, for_update)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id!r} not found")
    return conversation


def get_by_token(session, token, for_update=False, client_id=None):
    """The conversation a customer's token opens (in this client, if given); NotFound for anything
    else (the token is not echoed)."""
    token_hash = domain.hash_token(token)
    conversation = None if token_hash is None else _one_conversation(
        session, Conversation.token_hash == token_hash, client_id, for_update)
    if conversation is None:
        raise NotFound("no conversation for this token")
    return conversation


# ---------------------------------------------------------------- views

def unread_counts(session, conversations):
    """{conversation id: {"agent_unread": n, "customer_unread": m}}: messages from the other side
    above each side's read marker, for a page of conversations in one query."""
    ids = [conversation.id for conversation in conversations]
    counts = {id_: {"agent_unread": 0, "customer_unread": 0} for id_ in ids}
    if not ids:
        return counts
    query = (
        sa.select(
            Message.conversation_id,
            sa.func.count().filter(
                Message.author.in_(domain.UNREAD_AUTHORS["agent"]), Message.id > Conversation.agent_read_up_to
            ),
            sa.func.count().filter(
                Message.author.in_(domain.UNREAD_AUTHORS["customer"]), Message.id > Conversation.customer_read_up_to
            ),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.conversation_id.in_(ids),
            Message.id > sa.func.least(Conversation.agent_read_up_to, Conversation.customer_read_up_to),
        )
        .group_by(Message.conversation_id)
    )
    for conversation_id, agent_unread, customer_unread in session.execute(query):
        counts[conversation_id] = {"agent_unread": agent_unread, "customer_unread": customer_unread}
    return counts


def agent_view(session, conversation):
    return {**schemas.CONVERSATION.dump(conversation), **unread_counts(session, [conversation])[conversation.id]}


def customer_view(session, conversation):
    unread = unread_counts(session, [conversation])[conversation.id]
    return {**schemas.CUSTOMER_CONVERSATION.dump(conversation), "customer_unread": unread["customer_unread"]}


VIEWS = {"agent": (agent_view, schemas.MESSAGES), "customer": (customer_view, schemas.CUSTOMER_MESSAGES)}


def _exists(session, *where):
    return session.scalar(sa.select(sa.exists().where(*where)))


def message_page(session, conversation_id, page):
    """(messages oldest first, has_older, has_newer) for a loaded MESSAGE_PAGE."""
    limit, before, after = page["limit"], page.get("before"), page.get("after")
    in_conversation = Message.conversation_id == conversation_id
    query = sa.select(Message).where(in_conversation)
    if after is not None:
        if before is not None:  # a window: the oldest of the messages between the two
            query = query.where(Message.id < before)
        rows = list(session.scalars(query.where(Message.id > after).order_by(Message.id).limit(limit + 1)))
        has_newer = len(rows) > limit or (before is not None and _exists(session, in_conversation, Message.id >= before))
        rows = rows[:limit]
        has_older = _exists(session, in_conversation, Message.id <= after)
        return rows, has_older, has_newer
    if before is not None:
        query = query.where(Message.id < before)
    rows = list(session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    has_older = len(rows) > limit
    rows = rows[:limit][::-1]
    has_newer = before is not None and _exists(session, in_conversation, Message.id >= before)
    return rows, has_older, has_newer


def thread(session, conversation, page, view):
    """A conversation with one page of its messages, as `view` ("agent" or "customer") sees it."""
    page = load(schemas.MESSAGE_PAGE, page)
    dump_conversation, dump_messages = VIEWS[view]
    messages, has_older, has_newer = message_page(session, conversation.id, page)
    return {
        "conversation": dump_conversation(session, conversation),
        "messages": dump_messages.dump(messages),
        "has_older": has_older,
        "has_newer": has_newer,
    }


# ---------------------------------------------------------------- writing

def _post(session, conversation, author, author_name, author_id, body, now):
    """Add a message to a conversation locked by the caller; returns (message, outbox row)."""
    domain.check_can_post(conversation, author)
    message = Message(
        conversation_id=conversation.id, author=author, author_name=author_name,
        author_id=author_id, body=body, created_at=now,
    )
    session.add(message)
    session.flush()  # assigns the id, the thread's cursor
    domain.record_post(conversation, message)
    event = outbox.record(
        session, OutboxEvent, CHAT_MESSAGE_POSTED,
        {
            "conversation": schemas.CONVERSATION.dump(conversation),
            "message": schemas.MESSAGE.dump(message),
            "actor": author_id,
        },
        now,
    )
    return message, event


def start_conversation(session, data, now=None):
    """A customer opens a chat; returns (token, conversation, outbox rows). The token is shown once."""
    values = load(schemas.START, data)
    first = values.pop("message", None)
    now = now or _now()
    token = domain.new_token()
    conversation = Conversation(
        status="open", token_hash=domain.hash_token(token), created_at=now, last_message_at=now,
        agent_read_up_to=0, customer_read_up_to=0, ticket_numbers=[], **values,
    )
    session.add(conversation)
    session.flush()
    events = [
        outbox.record(
            session, OutboxEvent, CHAT_CONVERSATION_STARTED,
            {"conversation": schemas.CONVERSATION.dump(conversation), "actor": None}, now,
        )
    ]
    if first:
        _, event = _post(session, conversation, "customer", conversation.customer_name, None, first, now)
        events.append(event)
    return token, conversation, events


def post_message(session, conversation_id, data, client_id=None, now=None):
    """An agent's (or, for internal callers, the customer's) message; returns (message, outbox rows)."""
    values = load(schemas.POST, data)
    conversation = get_conversation_row(session, conversation_id, client_id, for_update=True)
    now = now or _now()  # read under the row lock, so times follow ids
    author = values["author"]
    author_name = values["author_name"] if author == "agent" else conversation.customer_name
    message, event = _post(session, conversation, author, author_name, values.get("author_id"), values["body"], now)
    return schemas.MESSAGE.dump(message), [event]


def post_message_by_token(session, token, body, now=None, client_id=None):
    """The customer's message, sent with their conversation token; returns (message, outbox rows)."""
    values = load(schemas.BODY, {"body": body})
    conversation = get_by_token(session, token, for_update=True, client_id=client_id)
    now = now or _now()
    message, event = _post(session, conversation, "customer", conversation.customer_name, None, values["body"], now)
    return schemas.CUSTOMER_MESSAGE.dump(message), [event]


def _actor(actor):
    return load(schemas.ACTOR, {"actor": actor})["actor"]


def close(session, conversation, actor, now):
    """Close a locked conversation with a system line in the thread; outbox rows ([] if it was closed).
    Closed by its customer before any agent answered, it is missed: chat.conversation_missed carries
    the transcript for the customer's e-mail."""
    if not domain.close(conversation, actor, now):
        return []
    answered = _exists(session, Message.conversation_id == conversation.id, Message.author == "agent")
    missed = domain.is_missed(actor, answered)
    if missed:
        domain.mark_missed(conversation, now)
    _, posted = _post(session, conversation, "system", domain.SYSTEM_AUTHOR_NAME, None, domain.CLOSED_TEXT, now)
    closed = outbox.record(
        session, OutboxEvent, CHAT_CONVERSATION_CLOSED,
        {"conversation": schemas.CONVERSATION.dump(conversation), "actor": actor}, now,
    )
    if not missed:
        return [posted, closed]
    return [posted, closed, outbox.record(session, OutboxEvent, CHAT_CONVERSATION_MISSED, {
        "conversation": schemas.CONVERSATION.dump(conversation),
        "messages": schemas.CUSTOMER_MESSAGES.dump(transcript(session, conversation)),
        "page_url": conversation.page_url,
        "actor": actor,
    }, now)]


def transcript(session, conversation):
    """The newest TRANSCRIPT_MESSAGES of a conversation, oldest first."""
    newest = session.scalars(
        sa.select(Message).where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc()).limit(domain.TRANSCRIPT_MESSAGES)
    )
    return list(newest)[::-1]


def close_unanswered(session, quiet_seconds, now=None, limit=100):
    """Close, as missed, open conversations no agent has written in and quiet for `quiet_seconds`
    (the customer most likely left without saying so); returns the outbox rows. Rows another
    instance is closing are skipped, not waited for."""
    now = now or _now()
    agent_wrote = sa.exists().where(Message.conversation_id == Conversation.id, Message.author == "agent")
    quiet = list(session.scalars(
        sa.select(Conversation)
        .where(Conversation.status == "open", Conversation.last_message_at < now - timedelta(seconds=quiet_seconds),
               ~agent_wrote)
        .order_by(Conversation.last_message_at).limit(limit).with_for_update(skip_locked=True)
    ))
    return [event for conversation in quiet for event in close(session, conversation, domain.UNANSWERED_CLOSER, now)]


def mark_handled(session, conversation_id, actor=None, client_id=None, now=None):
    """An agent has handled a missed conversation (it leaves the "Missed" list); returns it.
    Handling twice, or a conversation that was not missed, changes nothing."""
    actor = load(schemas.HANDLED, {"actor": actor})["actor"]
    conversation = get_conversation_row(session, conversation_id, client_id, for_update=True)
    domain.mark_handled(conversation, actor, now or _now())
    return conversation


def close_conversation(session, conversation_id, actor=None, client_id=None, now=None):
    actor = _actor(actor)
    conversation = get_conversation_row(session, conversation_id, client_id, for_update=True)
    return conversation, close(session, conversation, actor, now or _now())


def close_conversation_by_token(session, token, now=None, client_id=None):
    conversation = get_by_token(session, token, for_update=True, client_id=client_id)
    return conversation, close(session, conversation, "customer", now or _now())


def assign(session, conversation_id, agent, actor=None, client_id=None, now=None):
    """Give the conversation to `agent` (None: to nobody); returns (conversation, outbox rows)."""
    values = load(schemas.ASSIGN, {"agent": agent, "actor": actor})
    conversation = get_conversation_row(session, conversation_id, client_id, for_update=True)
    domain.check_can_assign(conversation)
    previous = conversation.assigned_to
    if previous == values["agent"]:
        return conversation, []
    conversation.assigned_to = values["agent"]
    event = outbox.record(
        session, OutboxEvent, CHAT_CONVERSATION_ASSIGNED,
        {"conversation": schemas.CONVERSATION.dump(conversation), "previous": previous, "actor": values["actor"]},
        now or _now(),
    )
    return conversation, [event]


def _up_to(up_to):
    return load(schemas.READ, {"up_to": up_to})["up_to"]


def mark_read(session, conversation_id, up_to, client_id=None):
    """The agents have seen the thread up to message `up_to`; returns the conversation."""
    up_to = _up_to(up_to)
    # Locked: a concurrent post moves the same marker.
    conversation = get_conversation_row(session, conversation_id, client_id, for_update=True)
    domain.mark_read(conversation, "agent", up_to)
    return conversation


def mark_read_by_token(session, token, up_to, client_id=None):
    """The customer has seen the thread up to message `up_to`; returns the conversation."""
    up_to = _up_to(up_to)
    conversation = get_by_token(session, token, for_update=True, client_id=client_id)
    domain.mark_read(conversation, "customer", up_to)
    return conversation


# ---------------------------------------------------------------- reading

def list_conversations(session, filters):
    """One page of a client's conversations, newest activity first: {items, total, page, per_page}."""
    f = load(schemas.LIST_FILTERS, filters)
    where = [Conversation.client_id == f["client_id"]]
    if f.get("status"):
        where.append(Conversation.status == f["status"])
    # Both: "mine and nobody's" (the queue an agent works from).
    assignees = [Conversation.assigned_to == f["assigned_to"]] if f.get("assigned_to") else []
    if f.get("unassigned"):
        assignees.append(Conversation.assigned_to.is_(None))
    if assignees:
        where.append(sa.or_(*assignees))
    if f.get("missed"):
        where += [Conversation.missed_at.isnot(None), Conversation.handled_at.is_(None)]
    total = session.scalar(sa.select(sa.func.count()).select_from(Conversation).where(*where))
    rows = list(
        session.scalars(
            sa.select(Conversation).where(*where)
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(f["per_page"]).offset((f["page"] - 1) * f["per_page"])
        )
    )
    unread = unread_counts(session, rows)
    return {
        "items": [{**schemas.CONVERSATION.dump(row), **unread[row.id]} for row in rows],
        "total": total,
        "page": f["page"],
        "per_page": f["per_page"],
    }


def ticket_draft(session, conversation_id, client_id=None):
    conversation = get_conversation_row(session, conversation_id, client_id)
    newest = session.scalars(
        sa.select(Message).where(Message.conversation_id == conversation.id)
        .order_by(Message.id.desc()).limit(DRAFT_MESSAGES)
    )
    return domain.ticket_draft(conversation, list(newest)[::-1])


# ---------------------------------------------------------------- tickets from chat

LINKED, DUPLICATE, UNKNOWN_CONVERSATION, OTHER_CLIENT = "linked", "duplicate", "unknown_conversation", "other_client"


def link_ticket(session, link, now=None):
    """Link a created ticket to its conversation and say so in the thread, once per ticket.

    `link` is domain.ticket_link's dict. Returns (outcome, outbox rows). Under the conversation's
    row lock, a redelivered event finds its link and changes nothing; the unique ticket_id is the
    database's own guard. A ticket naming another client's conversation links nothing.
    """
    conversation = session.scalars(
        sa.select(Conversation).where(Conversation.id == link["conversation_id"]).with_for_update()
    ).one_or_none()
    if conversation is None:
        return UNKNOWN_CONVERSATION, []
    if conversation.client_id != link["client_id"]:
        return OTHER_CLIENT, []
    if _exists(session, TicketLink.ticket_id == link["ticket_id"]):
        return DUPLICATE, []
    now = now or _now()
    conversation.ticket_numbers = [*(conversation.ticket_numbers or []), link["ticket_number"]]
    message, event = _post(
        session, conversation, "system", domain.SYSTEM_AUTHOR_NAME, None,
        domain.ticket_created_text(link["ticket_number"]), now,
    )
    session.add(
        TicketLink(
            conversation_id=conversation.id, ticket_id=link["ticket_id"], ticket_number=link["ticket_number"],
            event_id=link["event_id"], message_id=message.id, linked_at=now,
        )
    )
    session.flush()
    return LINKED, [event]
