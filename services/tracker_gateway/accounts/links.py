"""Single-use links e-mailed to agents: an invitation (choose a password and join) and a password reset.

The token (256 random bits) is only ever in the e-mail; the table keeps its SHA-256. A link works
once, until it expires, for an active agent; issuing a new link of the same purpose voids the older
ones. A tampered, unknown, used or expired token all read as the same "no such link".
"""
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.tracker_gateway.accounts.models import Agent, AgentLink

INVITE, RESET = "invite", "reset"
PURPOSES = (INVITE, RESET)
TOKEN_MAX = 100  # anything longer is not one of ours: refused before hashing


def _now():
    return datetime.now(timezone.utc)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session, agent, purpose, ttl_seconds, now=None):
    """A new link's token and its expiry (the caller commits); older unused links of this purpose end."""
    assert purpose in PURPOSES
    now = now or _now()
    session.execute(
        sa.update(AgentLink)
        .where(AgentLink.agent_id == agent.id, AgentLink.purpose == purpose, AgentLink.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=ttl_seconds)
    session.add(AgentLink(token_hash=_hash(token), agent_id=agent.id, purpose=purpose, created_at=now,
                          expires_at=expires_at))
    session.flush()
    return token, expires_at


def find(session, token, purpose, lock=False, now=None):
    """(link, agent) while the link works, else None."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return None
    query = (sa.select(AgentLink, Agent).join(Agent, Agent.id == AgentLink.agent_id)
             .where(AgentLink.token_hash == _hash(token), AgentLink.purpose == purpose))
    found = session.execute(query.with_for_update(of=AgentLink) if lock else query).one_or_none()
    if found is None:
        return None
    link, agent = found
    if link.used_at is not None or link.expires_at <= (now or _now()) or not agent.active:
        return None
    return link, agent


def consume(session, token, purpose, now=None):
    """The agent of a working link, which stops working (row-locked: two tabs cannot both use it);
    None otherwise. The caller commits with the change the link allowed."""
    found = find(session, token, purpose, lock=True, now=now)
    if found is None:
        return None
    link, agent = found
    link.used_at = now or _now()
    return agent
