"""Managing a client's agents (admins only, checked by the caller): list, invite, change role, activate
or deactivate, with the rule that a client always keeps an active admin; and each agent's profile
(display name, e-mail preferences, password)."""
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.tracker_gateway.accounts import links
from services.tracker_gateway.accounts.models import ADMIN, ROLES, Agent, Client
from services.tracker_gateway.accounts.passwords import hash_password, verify_password
from services.tracker_gateway.accounts.tokens import revoke_all_refresh_tokens, void_agent_tokens

PASSWORD_MIN = 10
PASSWORD_MAX = 1024
# last_seen_at is written at most this often per agent (each token a console page asks for would otherwise write).
SEEN_EVERY = timedelta(minutes=1)


class TeamError(Exception):
    """A change refused for the state it would leave (409), with the reason and the field it concerns."""

    def __init__(self, reason, field=None):
        super().__init__(reason)
        self.reason, self.field = reason, field


def _now():
    return datetime.now(timezone.utc)


def password_problem(password):
    """Why a new password is refused, or None."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    return None


def status_of(agent):
    if not agent.active:
        return "deactivated"
    return "active" if agent.password_set else "invited"


def agent_view(agent):
    """An agent as the API and the team page show it."""
    return {
        "id": str(agent.id), "email": agent.email, "name": agent.shown_name, "role": agent.role,
        "active": bool(agent.active), "status": status_of(agent),
        "last_seen_at": agent.last_seen_at.isoformat() if agent.last_seen_at else None,
        "invited_at": agent.invited_at.isoformat() if agent.invited_at else None,
        "created_at": agent.created_at.isoformat() if agent.created_at else None,
    }


def list_agents(session, client_id):
    """The client's agents: active ones first, then by name."""
    return session.scalars(
        sa.select(Agent).where(Agent.client_id == client_id)
        .order_by(Agent.active.desc(), sa.func.lower(sa.func.coalesce(Agent.display_name, Agent.name)), Agent.email)
    ).all()


def get_agent(session, client_id, agent_id, lock=False):
    """The client's agent, or None (another client's agent is as unknown as a missing one)."""
    query = sa.select(Agent).where(Agent.id == agent_id, Agent.client_id == client_id)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def lock_client(session, client_id):
    # Changes to one client's agents run one at a time: two admins demoting each other cannot both win.
    return session.scalars(sa.select(Client).where(Client.id == client_id).with_for_update()).one()


def invite(session, client_id, email, name, role, ttl_seconds):
    """A new agent who cannot sign in until they accept (choose a password) through the link whose
    token is returned with the agent and the link's expiry. The caller commits and sends the e-mail."""
    if role not in ROLES:
        raise TeamError(f"The role must be one of {', '.join(ROLES)}.", "role")
    lock_client(session, client_id)
    email = email.strip().lower()
    if session.scalars(sa.select(Agent.id).where(Agent.email == email)).first() is not None:
        raise TeamError("An agent with this e-mail address exists already.", "email")
    now = _now()
    agent = Agent(client_id=client_id, email=email, name=name.strip(), role=role, active=True,
                  # Nobody knows this password: the account opens only through the invitation.
                  password_hash=hash_password(secrets.token_urlsafe(32)), password_set=False, invited_at=now)
    session.add(agent)
    session.flush()
    token, expires_at = links.issue(session, agent, links.INVITE, ttl_seconds, now)
    return agent, token, expires_at


def reinvite(session, client_id, agent_id, ttl_seconds):
    """A fresh invitation link for an agent who has not accepted yet (the older link stops working)."""
    agent = get_agent(session, client_id, agent_id, lock=True)
    if agent is None:
        return None
    if agent.password_set or not agent.active:
        raise TeamError("Only a pending invitation can be sent again.")
    agent.invited_at = _now()
    token, expires_at = links.issue(session, agent, links.INVITE, ttl_seconds)
    return agent, token, expires_at


def _active_admins(session, client_id):
    return session.scalar(sa.select(sa.func.count()).select_from(Agent).where(
        Agent.client_id == client_id, Agent.active, Agent.role == ADMIN))


def change(session, redis_client, config, client_id, agent_id, role=None, active=None):
    """Change an agent's role and/or active flag; None if the client has no such agent. Refuses
    (TeamError) to leave the client without an active admin. Deactivating revokes every login of the
    agent and voids its access tokens (refused on their next request); the caller's session is
    committed here, before the tokens are voided."""
    lock_client(session, client_id)
    agent = get_agent(session, client_id, agent_id, lock=True)
    if agent is None:
        return None
    if role is not None and role not in ROLES:
        raise TeamError(f"The role must be one of {', '.join(ROLES)}.", "role")
    was_admin = agent.active and agent.role == ADMIN
    stays_admin = (agent.active if active is None else active) and (role or agent.role) == ADMIN
    if was_admin and not stays_admin and _active_admins(session, client_id) <= 1:
        what = "deactivate" if active is False else "change the role of"
        raise TeamError(f"You cannot {what} the last active admin: make another agent an admin first.",
                        "active" if active is False else "role")
    deactivating = agent.active and active is False
    if role is not None:
        agent.role = role
    if active is not None:
        agent.active = active
    if deactivating:
        revoke_all_refresh_tokens(session, agent.id, "deactivated")
    session.commit()
    if deactivating:
        void_agent_tokens(agent.id, redis_client, config)
    return agent


def update_profile(session, agent, display_name=None, notify=None):
    if display_name is not None:
        agent.display_name = display_name.strip() or None
    for kind, wanted in (notify or {}).items():
        setattr(agent, f"notify_{kind}", bool(wanted))
    return agent


def change_password(session, agent, current, new):
    """Set a new password if `current` is right; TeamError otherwise (the caller commits)."""
    if not verify_password(agent.password_hash, current or ""):
        raise TeamError("The current password is not right.", "current_password")
    problem = password_problem(new)
    if problem:
        raise TeamError(problem, "new_password")
    agent.password_hash = hash_password(new)


def set_password_from_link(session, agent, password, name=None):
    """After an invitation or a reset: the chosen password, and the end of every other login (a reset
    is often made because someone else may hold the old password)."""
    agent.password_hash = hash_password(password)
    agent.password_set = True
    if name and name.strip():
        agent.name = name.strip()
    revoke_all_refresh_tokens(session, agent.id, "password")


def mark_seen(session, agent, now=None):
    """Record that the agent is about (sign-in, a console page's token); at most once a minute."""
    now = now or _now()
    if agent.last_seen_at is None or now - agent.last_seen_at >= SEEN_EVERY:
        agent.last_seen_at = now
        return True
    return False
