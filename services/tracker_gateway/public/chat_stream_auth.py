"""What lets a customer's page open its chat stream: a short-lived signed stream ticket, and where
the stream server is (shared by the gateway, which issues tickets, and chat_streams.py, which reads them).

The gateway checks the conversation token with the chat service (the same call and rate limit as a
read) and signs {conversation, client} for STREAM_TICKET_SECONDS; the stream server then needs no
database, RPC or Redis to open a stream: it checks the signature and subscribes.
"""
import time
from urllib.parse import urlsplit, urlunsplit

import jwt

ALGORITHM = "HS256"
# Its own audience: a stream ticket is no access token, and an access token opens no stream.
AUDIENCE = "deskline-chat-stream"
STREAM_TICKET_SECONDS = 60
SAME_ORIGIN = "same-origin"


class InvalidTicket(Exception):
    pass


def issue(config, conversation_id, client_id, slug, now=None):
    now = int(now if now is not None else time.time())
    claims = {"conv": str(conversation_id), "cid": str(client_id), "slug": slug, "aud": AUDIENCE, "iat": now,
              "exp": now + STREAM_TICKET_SECONDS}
    return jwt.encode(claims, config["JWT_SECRET"], algorithm=ALGORITHM)


def verify(config, ticket, slug):
    """(conversation id, client id) of a valid, unexpired ticket for this client page's slug;
    InvalidTicket otherwise."""
    try:
        claims = jwt.decode(ticket or "", config["JWT_SECRET"], algorithms=[ALGORITHM], audience=AUDIENCE,
                            options={"require": ["exp", "conv", "cid", "slug"]})
    except jwt.InvalidTokenError as exc:
        raise InvalidTicket(str(exc)) from None
    if claims["slug"] != slug:
        raise InvalidTicket("the ticket is for another client's page")
    return claims["conv"], claims["cid"]


def _origin(url):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def stream_base(config):
    """The origin the page opens streams at ("" for its own)."""
    url = config["CHAT_STREAM_URL"].strip()
    if url == SAME_ORIGIN:
        return ""
    if url:
        return _origin(url)
    public = urlsplit(config["PUBLIC_BASE_URL"])
    return urlunsplit((public.scheme, f"{public.hostname}:{config['CHAT_STREAM_PORT']}", "", "", ""))


def allowed_origins(config):
    """The pages' origins the stream server answers cross-origin (CORS)."""
    return set(config["CHAT_STREAM_ORIGINS"]) or {_origin(config["PUBLIC_BASE_URL"])}


def stream_path(slug):
    return f"/api/public/chat/{slug}/stream"
