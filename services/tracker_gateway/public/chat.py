"""The public live chat (no login): a client's chat page at /chat/<slug> and its JSON API.

A customer starts a conversation with name, e-mail and a first message and receives the chat
service's conversation token (256 random bits), which the page keeps in localStorage and sends in
the `X-Chat-Token` header, never in a URL (URLs end up in logs and Referer headers). Every call
is limited per client address with fixed windows in Redis, shared by all gateway instances
(429 with Retry-After). Message bodies are plain text: the page renders them with textContent.
"""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, make_response, render_template, request

from services.tracker_gateway.accounts.models import Client, is_slug
from services.tracker_gateway.api import chat_schemas, schemas
from services.tracker_gateway.api.openapi import CHAT_TOKEN, CLOSED, PUBLIC_CHAT_ERRORS, documented
from services.tracker_gateway.core import db, ratelimit
from services.tracker_gateway.core.net import client_ip
from services.tracker_gateway.core.rpc import chat
from services.tracker_gateway.core.security import CONTENT_SECURITY_POLICY
from services.tracker_gateway.public import chat_stream_auth
from shared.contracts.exceptions import NotFound

bp = Blueprint("chat_public", __name__)

API = "/api/public/chat/<slug>"
TOKEN_HEADER = "X-Chat-Token"
# Bucket -> its settings' names: (limit per window, window in seconds).
LIMITS = {
    "start": ("CHAT_STARTS_PER_IP", "CHAT_START_WINDOW_SECONDS"),
    "post": ("CHAT_POSTS_PER_IP", "CHAT_POST_WINDOW_SECONDS"),
    "read": ("CHAT_READS_PER_IP", "CHAT_READ_WINDOW_SECONDS"),
}


def limit(bucket):
    """Count this call against the address's window for `bucket`; TooManyAttempts past the limit."""
    most, window = (current_app.config[name] for name in LIMITS[bucket])
    ratelimit.hit(ratelimit.Limit(f"chat:rl:{bucket}:{client_ip()}", most, window))


def client_for(slug):
    """The client whose page this is; NotFound for an unknown slug, or one no client could have
    (not looked up: a NUL byte would make the database driver raise)."""
    client = db.session().scalars(sa.select(Client).where(Client.slug == slug)).first() if is_slug(slug) else None
    if client is None:
        raise NotFound(f"no client {slug!r}")
    return client


def _token():
    # A missing token opens nothing, exactly like a wrong one: the chat service answers NotFound.
    return request.headers.get(TOKEN_HEADER, "")


def _private(response, status=200):
    # Conversations are for the person who holds the token: never cached on the way.
    response = make_response(response, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/chat/<slug>")
def page(slug):
    """The client's chat page; its script starts or resumes the conversation kept in the browser."""
    client = client_for(slug)
    base = chat_stream_auth.stream_base(current_app.config)
    response = _private(render_template("public/chat.html", client=client))
    if base:  # the stream server on its own port (`make run`): the page may connect there too
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'", f"connect-src 'self' {base}")
    return response


@bp.post(f"{API}/conversations")
@documented("public chat", body=chat_schemas.ChatStartSchema, responses={
    201: ("The conversation, its first page and its token", chat_schemas.StartedConversationSchema),
    **PUBLIC_CHAT_ERRORS})
def start(slug):
    """Open a conversation: {customer_name, customer_email, message?} -> 201 {token, conversation,
    messages, has_older, has_newer}. The token is shown this once."""
    limit("start")
    data = schemas.load(chat_schemas.START, request.get_json(silent=True))
    client = client_for(slug)
    # The page it starts on, by its slug: a missed chat's e-mail brings the customer back to it.
    page_url = f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/chat/{client.slug}"
    return _private(jsonify(chat().start_conversation(
        {**data, "client_id": str(client.id), "page_url": page_url})), 201)


@bp.get(f"{API}/conversation")
@documented("public chat", query=chat_schemas.MessagePageSchema, headers=[CHAT_TOKEN], responses={
    200: ("The conversation and one page of messages", chat_schemas.CustomerThreadSchema), **PUBLIC_CHAT_ERRORS})
def resume(slug):
    """The token's conversation with one page of messages; ?after=<id> for what is new since."""
    limit("read")
    page_args = schemas.load(chat_schemas.THREAD_QUERY, request.args.to_dict())
    client_id = str(client_for(slug).id)
    return _private(jsonify(chat().resume_conversation(_token(), client_id=client_id, **page_args)))


@bp.post(f"{API}/conversation/messages")
@documented("public chat", body=chat_schemas.ChatMessageSchema, headers=[CHAT_TOKEN], responses={
    201: ("The message", chat_schemas.CustomerMessageSchema), **CLOSED, **PUBLIC_CHAT_ERRORS})
def post(slug):
    """The customer's message: {body} -> 201 message (409 once the conversation is closed)."""
    limit("post")
    data = schemas.load(chat_schemas.MESSAGE, request.get_json(silent=True))
    client_id = str(client_for(slug).id)
    return _private(jsonify(chat().post_message_by_token(_token(), data["body"], client_id=client_id)), 201)


@bp.post(f"{API}/conversation/read")
@documented("public chat", body=chat_schemas.ReadSchema, headers=[CHAT_TOKEN], responses={
    200: ("The conversation", chat_schemas.CustomerConversationViewSchema), **PUBLIC_CHAT_ERRORS})
def mark_read(slug):
    """The customer has seen the thread up to {up_to} (the agents' view shows it)."""
    limit("read")
    data = schemas.load(chat_schemas.READ, request.get_json(silent=True))
    client_id = str(client_for(slug).id)
    return _private(jsonify(chat().mark_read_by_token(_token(), data["up_to"], client_id=client_id)))


@bp.post(f"{API}/conversation/close")
@documented("public chat", headers=[CHAT_TOKEN], responses={
    200: ("The conversation", chat_schemas.CustomerConversationViewSchema), **PUBLIC_CHAT_ERRORS})
def close(slug):
    """The customer ends the chat."""
    limit("post")
    client_id = str(client_for(slug).id)
    return _private(jsonify(chat().close_conversation_by_token(_token(), client_id=client_id)))


@bp.post(f"{API}/conversation/stream")
@documented("public chat", headers=[CHAT_TOKEN], responses={
    200: ("A ticket that opens the conversation's stream", chat_schemas.StreamTicketSchema), **PUBLIC_CHAT_ERRORS})
def stream_ticket(slug):
    """Where the page opens its stream of the token's conversation (server-sent events of new
    messages and status), with a ticket good for a minute: the token itself never goes there."""
    limit("read")
    client_id = str(client_for(slug).id)
    conversation = chat().resume_conversation(_token(), client_id=client_id, limit=1)["conversation"]
    config = current_app.config
    return _private(jsonify({
        "url": chat_stream_auth.stream_base(config) + chat_stream_auth.stream_path(slug),
        "ticket": chat_stream_auth.issue(config, conversation["id"], client_id, slug),
        "expires_in": chat_stream_auth.STREAM_TICKET_SECONDS,
    }))
