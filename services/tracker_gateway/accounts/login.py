"""Signing in with e-mail and password, throttled: after repeated failures for an e-mail or from an
address, further attempts are refused for the rest of the window (core/ratelimit.py), whether or not
they would have succeeded. Only failures count."""
import hashlib

import sqlalchemy as sa
from flask import current_app

from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.passwords import hash_password, needs_rehash, verify_password
from services.tracker_gateway.accounts.team import mark_seen
from services.tracker_gateway.accounts.tokens import token_pair
from services.tracker_gateway.core import db, ratelimit
from services.tracker_gateway.core.errors import Unauthorized


def _failure_limits(email, ip):
    config = current_app.config
    window = config["LOGIN_WINDOW_SECONDS"]
    return (
        ratelimit.Limit(f"auth:fail:email:{hashlib.sha256(email.encode()).hexdigest()}",
                        config["LOGIN_FAILURES_PER_EMAIL"], window),
        ratelimit.Limit(f"auth:fail:ip:{ip}", config["LOGIN_FAILURES_PER_IP"], window),
    )


def login(email, password, ip):
    """A token pair for the right e-mail and password; Unauthorized (the same for every failure) or
    TooManyAttempts after repeated failures for that e-mail or from that address."""
    email = email.strip().lower()
    limits = _failure_limits(email, ip)
    ratelimit.check(*limits)
    session = db.session()
    agent = session.scalars(sa.select(Agent).where(Agent.email == email)).one_or_none()
    ok = verify_password(agent.password_hash if agent else None, password) and agent.active
    if not ok:
        ratelimit.hit(*limits)
        raise Unauthorized("wrong e-mail or password")
    if needs_rehash(agent.password_hash):
        agent.password_hash = hash_password(password)
    pair = token_pair(session, agent, current_app.config)
    mark_seen(session, agent)
    session.commit()
    return pair
