"""Agents' tokens: 15-minute HS256 access tokens, rotating refresh tokens, revocation.

Access tokens are JWTs (pyjwt) checked for signature, `iss`, `aud`, `exp`, `iat` and `jti`, with
HS256 as the only accepted algorithm: `alg: none` or any other is refused. Refresh tokens are
opaque (256 random bits), stored as SHA-256, single use: each refresh returns a new pair.
"""
import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
import sqlalchemy as sa
from flask import current_app, g, request

from services.tracker_gateway.accounts.models import Agent, RefreshToken
from services.tracker_gateway.core.errors import Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """The authenticated agent, as the access token says."""

    agent_id: str
    client_id: str
    role: str
    email: str
    jti: str
    expires: int
    issued_at: int = 0


def _now():
    return datetime.now(timezone.utc)


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


# -- access tokens --

def issue_access_token(agent, config):
    now = int(_now().timestamp())
    claims = {
        "iss": config["JWT_ISSUER"],
        "aud": config["JWT_AUDIENCE"],
        "sub": str(agent.id),
        "cid": str(agent.client_id),
        "role": agent.role,
        "email": agent.email,
        "iat": now,
        "exp": now + config["ACCESS_TOKEN_SECONDS"],
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, config["JWT_SECRET"], algorithm=ALGORITHM)


def decode_access_token(token, config):
    try:
        claims = jwt.decode(
            token,
            config["JWT_SECRET"],
            algorithms=[ALGORITHM],
            audience=config["JWT_AUDIENCE"],
            issuer=config["JWT_ISSUER"],
            options={"require": ["exp", "iat", "iss", "aud", "jti", "sub"]},
            leeway=5,
        )
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid or expired token") from None
    if not isinstance(claims.get("cid"), str) or not claims["cid"]:
        raise Unauthorized("invalid or expired token")
    return Principal(claims["sub"], claims["cid"], claims.get("role", "agent"), claims.get("email", ""),
                     claims["jti"], claims["exp"], claims["iat"])


def revoked_key(jti):
    """The Redis key that marks an access token revoked (read by every request and live stream)."""
    return f"{current_app.config['REDIS_PREFIX']}auth:revoked:{jti}"


def revoke_access_token(principal):
    """Until it expires, this access token is refused (logout)."""
    ttl = max(1, principal.expires - int(_now().timestamp()) + 5)
    current_app.extensions["redis"].set(revoked_key(principal.jti), "1", ex=ttl)


def void_key(agent_id):
    """The Redis key holding the time before which every access token of an agent is void."""
    return f"{current_app.config['REDIS_PREFIX']}auth:void:{agent_id}"


def void_agent_tokens(agent_id, redis_client=None, config=None):
    """Every access token this agent holds stops working now (deactivation): they are refused on their
    next request and their live streams end. Kept as long as a token can live."""
    config = config or current_app.config
    redis_client = redis_client or current_app.extensions["redis"]
    key = f"{config['REDIS_PREFIX']}auth:void:{agent_id}"
    redis_client.set(key, int(_now().timestamp()), ex=config["ACCESS_TOKEN_SECONDS"] + 60)


def revocation_check(principal):
    """A function that tells whether this token has been revoked: logged out (its id revoked), or
    issued before its agent was deactivated. Made in the request; callable after it (a live stream)."""
    redis_client = current_app.extensions["redis"]
    revoked, void = revoked_key(principal.jti), void_key(principal.agent_id)

    def is_revoked():
        with redis_client.pipeline(transaction=False) as pipe:
            pipe.exists(revoked)
            pipe.get(void)
            logged_out, void_before = pipe.execute()
        return bool(logged_out) or (void_before is not None and principal.issued_at <= int(void_before))
    return is_revoked


def current_principal():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    principal = decode_access_token(token.strip(), current_app.config)
    if revocation_check(principal)():
        raise Unauthorized("token revoked")
    return principal


def login_required(view):
    """The view runs with `g.principal`, the agent from a valid access token; 401 otherwise."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.principal = current_principal()
        return view(*args, **kwargs)

    wrapper.requires_login = True  # the OpenAPI document's bearer requirement (api/openapi.py)
    return wrapper


# -- refresh tokens --

def issue_refresh_token(session, agent, config, family_id=None):
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(RefreshToken(
        token_hash=_token_hash(token),
        family_id=family_id or uuid.uuid4(),
        agent_id=agent.id,
        created_at=now,
        expires_at=now + timedelta(seconds=config["REFRESH_TOKEN_SECONDS"]),
    ))
    return token


def token_pair(session, agent, config, family_id=None):
    return {
        "access_token": issue_access_token(agent, config),
        "token_type": "Bearer",
        "expires_in": config["ACCESS_TOKEN_SECONDS"],
        "refresh_token": issue_refresh_token(session, agent, config, family_id),
    }


def _revoke(session, which, reason):
    session.execute(
        sa.update(RefreshToken).where(which, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now(), revoked_reason=reason)
    )


def _revoke_family(session, family_id, reason):
    _revoke(session, RefreshToken.family_id == family_id, reason)


def revoke_all_refresh_tokens(session, agent_id, reason):
    """Every login of this agent stops working (deactivation); the caller commits."""
    _revoke(session, RefreshToken.agent_id == agent_id, reason)


def find_refresh_token(session, token, lock=False):
    """The stored row of a refresh token, whatever its state, or None (the one reader of them)."""
    if not token:
        return None
    query = sa.select(RefreshToken).where(RefreshToken.token_hash == _token_hash(token))
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def live_refresh_token(session, token, lock=False):
    """The row if the token still counts (not expired, not revoked), else None. Presenting a token
    that was already rotated means someone holds a copy: that ends the whole login (its family)."""
    row = find_refresh_token(session, token, lock=lock)
    if row is None:
        return None
    if row.revoked_at is not None:
        if row.revoked_reason == "rotated":
            _revoke_family(session, row.family_id, "reuse")
            session.commit()
        return None
    return row if row.expires_at > _now() else None


def rotate_refresh_token(session, token, config):
    """A new pair for a valid refresh token, which stops working. A reused one revokes its family."""
    row = live_refresh_token(session, token, lock=True)
    agent = session.get(Agent, row.agent_id) if row is not None else None
    if agent is None or not agent.active:
        raise Unauthorized("invalid refresh token")
    row.revoked_at, row.revoked_reason = _now(), "rotated"
    pair = token_pair(session, agent, config, family_id=row.family_id)
    session.commit()
    return pair


def revoke_refresh_token(session, token, agent_id):
    """Logout: the refresh token (and every token rotated from the same login) stops working."""
    row = find_refresh_token(session, token)
    if row is not None and str(row.agent_id) == str(agent_id):
        _revoke_family(session, row.family_id, "logout")
    session.commit()
