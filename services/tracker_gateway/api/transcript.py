"""A chat's transcript as a ticket's first thread entries (issue 13: the context is not lost when the
chat closes): the customer's lines as the customer's, the agents' as the agents', in the chat's order
and with its times; the chat service's own lines (ticket links, closing) are left out."""
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.core.rpc import chat
from shared.contracts.chat_schemas import MESSAGES_LIMIT_MAX
from shared.contracts.message_schemas import INITIAL_MESSAGES_MAX


def thread_entries(messages, customer_email=None):
    """The chat's messages (oldest first, as the chat service gives them) as create_ticket's `messages`;
    the newest INITIAL_MESSAGES_MAX when a chat is longer."""
    entries = [
        {
            "body": message["body"],
            "author_type": message["author"],
            "author_name": message.get("author_name"),
            "author_email": message.get("author_id") if message["author"] == "agent" else customer_email,
            "visibility": "public",
            "channel": "chat",
            "created_at": message["created_at"],
        }
        for message in messages
        if message["author"] in ("customer", "agent") and (message.get("body") or "").strip()
    ]
    return entries[-INITIAL_MESSAGES_MAX:]


def select(messages, message_ids=None):
    """The messages the agent picked (by id, in the chat's order), or all of them; an id that is not
    in this conversation is a 422 on `message_ids`."""
    if message_ids is None:
        return messages
    by_id = {message["id"]: message for message in messages}
    unknown = sorted(set(message_ids) - set(by_id))
    if unknown:
        raise SchemaError({"message_ids": [f"Not messages of this conversation: {', '.join(map(str, unknown))}."]})
    return [message for message in messages if message["id"] in set(message_ids)]


def fetch_transcript(conversation_id, client_id):
    """Every message of the conversation, oldest first, a page at a time."""
    messages, after = [], 0
    while True:
        page = chat().get_conversation(conversation_id, client_id=client_id, after=after, limit=MESSAGES_LIMIT_MAX)
        messages.extend(page["messages"])
        if not page["messages"] or not page.get("has_newer"):
            return messages
        after = page["messages"][-1]["id"]
