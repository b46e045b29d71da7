"""Agent authentication: argon2 passwords, 15-minute HS256 access tokens, rotating refresh tokens,
revocation on logout, and throttled logins.

Access tokens are JWTs (pyjwt) checked for signature, `iss`, `aud`, `exp`, `iat` and `jti`, with
HS256 as the only accepted algorithm: `alg: none` or any other is refused. Refresh tokens are
opaque (256 random bits), stored as SHA-256, single use: each refresh returns a new pair.
"""
import functools
import hashlib
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request

from services.tracker_gateway.accounts.models import Agent, RefreshToken
from services.tracker_gateway.core import db

ALGORITHM = "HS256"
password_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that an unknown address costs the same time
# as a wrong password (no account enumeration by timing).
_DUMMY_HASH = password_hasher.hash(secrets.token_urlsafe(16))


class Unauthorized(Exception):
    """No valid credentials: 401."""


class Forbidden(Exception):
    """Valid credentials, not enough rights: 403."""


class TooManyAttempts(Exception):
    """Throttled: 429 with Retry-After."""

    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """The authenticated agent, as the access token says."""

    agent_id: str
    client_id: str
    role: str
    email: str
    jti: str
    expires: int


def hash_password(password):
    return password_hasher.hash(password)


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
                     claims["jti"], claims["exp"])


def _revoked_key(jti):
    return f"{current_app.config['REDIS_PREFIX']}auth:revoked:{jti}"


def revoke_access_token(principal):
    """Until it expires, this access token is refused (logout)."""
    ttl = max(1, principal.expires - int(_now().timestamp()) + 5)
    current_app.extensions["redis"].set(_revoked_key(principal.jti), "1", ex=ttl)


def current_principal():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    principal = decode_access_token(token.strip(), current_app.config)
    if current_app.extensions["redis"].exists(_revoked_key(principal.jti)):
        raise Unauthorized("token revoked")
    return principal


def login_required(view):
    """The view runs with `g.principal`, the agent from a valid access token; 401 otherwise."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.principal = current_principal()
        return view(*args, **kwargs)

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


def _revoke_family(session, family_id, reason):
    session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now(), revoked_reason=reason)
    )


def rotate_refresh_token(session, token, config):
    """A new pair for a valid refresh token, which stops working. A reused one revokes its family."""
    row = session.scalars(
        sa.select(RefreshToken).where(RefreshToken.token_hash == _token_hash(token)).with_for_update()
    ).one_or_none()
    if row is None:
        raise Unauthorized("invalid refresh token")
    if row.revoked_at is not None:
        if row.revoked_reason == "rotated":
            # Someone holds a copy of a token already exchanged: end that login everywhere.
            _revoke_family(session, row.family_id, "reuse")
            session.commit()
        raise Unauthorized("invalid refresh token")
    agent = session.get(Agent, row.agent_id)
    if row.expires_at <= _now() or agent is None or not agent.active:
        raise Unauthorized("invalid refresh token")
    row.revoked_at, row.revoked_reason = _now(), "rotated"
    pair = token_pair(session, agent, config, family_id=row.family_id)
    session.commit()
    return pair


def revoke_refresh_token(session, token, agent_id):
    """Logout: the refresh token (and every token rotated from the same login) stops working."""
    row = session.scalars(sa.select(RefreshToken).where(RefreshToken.token_hash == _token_hash(token))).one_or_none()
    if row is not None and str(row.agent_id) == agent_id:
        _revoke_family(session, row.family_id, "logout")
    session.commit()


# -- login --

def _throttle_keys(email, ip):
    prefix = current_app.config["REDIS_PREFIX"]
    return (
        (f"{prefix}auth:fail:email:{hashlib.sha256(email.encode()).hexdigest()}", current_app.config["LOGIN_FAILURES_PER_EMAIL"]),
        (f"{prefix}auth:fail:ip:{ip}", current_app.config["LOGIN_FAILURES_PER_IP"]),
    )


def _check_throttle(keys):
    redis_client = current_app.extensions["redis"]
    with redis_client.pipeline(transaction=False) as pipe:
        for key, _ in keys:
            pipe.get(key)
            pipe.pttl(key)
        values = pipe.execute()
    for (key, limit), used, pttl in zip(keys, values[0::2], values[1::2]):
        if used is not None and int(used) >= limit:
            raise TooManyAttempts(max(1, math.ceil(max(pttl, 0) / 1000)))


def _count_failure(keys):
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    with current_app.extensions["redis"].pipeline(transaction=False) as pipe:
        for key, _ in keys:
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        pipe.execute()


def login(email, password, ip):
    """A token pair for the right e-mail and password; Unauthorized (same for every failure) or
    TooManyAttempts after repeated failures for that e-mail or from that address."""
    email = email.strip().lower()
    keys = _throttle_keys(email, ip)
    _check_throttle(keys)
    session = db.session()
    agent = session.scalars(sa.select(Agent).where(Agent.email == email)).one_or_none()
    try:
        password_hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
        ok = agent is not None and agent.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _count_failure(keys)
        raise Unauthorized("wrong e-mail or password")
    if password_hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    pair = token_pair(session, agent, current_app.config)
    session.commit()
    return pair
