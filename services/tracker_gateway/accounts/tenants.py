"""Creating tenants (clients) and their agents, and the first client and admin of a fresh install.

Used by the command line (`python -m services.tracker_gateway create-client ...`) and by tests.
"""
import re
import secrets
import sys

import sqlalchemy as sa

from services.tracker_gateway.accounts.models import ROLES, SLUG_MAX, Agent, Client, is_slug
from services.tracker_gateway.accounts.passwords import hash_password


class TenantError(Exception):
    """A client or agent that cannot be created as asked (the message says why)."""


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:SLUG_MAX].strip("-") or "client"


def create_client(session, name, slug=None):
    slug = slug or slugify(name)
    if not is_slug(slug):
        raise TenantError(f"a slug is lower-case letters and digits, dash-separated, at most {SLUG_MAX}: not {slug!r}")
    if session.scalars(sa.select(Client).where(Client.slug == slug)).first():
        raise TenantError(f"a client with slug {slug!r} exists")
    client = Client(name=name, slug=slug)
    session.add(client)
    session.flush()
    return client


def create_agent(session, client_slug, email, name, role="agent", password=None):
    """The new agent and its password (generated when none is given, to be shown once)."""
    if role not in ROLES:
        raise TenantError(f"role must be one of {', '.join(ROLES)}")
    client = session.scalars(sa.select(Client).where(Client.slug == client_slug)).first()
    if client is None:
        raise TenantError(f"no client with slug {client_slug!r}")
    email = email.strip().lower()
    if session.scalars(sa.select(Agent).where(Agent.email == email)).first():
        raise TenantError(f"an agent with e-mail {email!r} exists")
    password = password or secrets.token_urlsafe(12)
    agent = Agent(client_id=client.id, email=email, name=name, role=role,
                  password_hash=hash_password(password), active=True)
    session.add(agent)
    session.flush()
    return agent, password


def bootstrap(session, config, out=sys.stdout):
    """On a fresh install: the client "Demo" and an admin from ADMIN_EMAIL / ADMIN_PASSWORD (a random
    password, printed this once, when unset). Does nothing when they exist."""
    slug = slugify(config["DEMO_CLIENT_NAME"])
    client = session.scalars(sa.select(Client).where(Client.slug == slug)).first()
    if client is None:
        client = create_client(session, config["DEMO_CLIENT_NAME"], slug)
        print(f"bootstrap: created client {client.name!r} (slug {slug}, id {client.id})", file=out)
    email = config["ADMIN_EMAIL"].strip().lower()
    if session.scalars(sa.select(Agent).where(Agent.email == email)).first() is None:
        _, password = create_agent(session, slug, email, config["ADMIN_NAME"], "admin", config["ADMIN_PASSWORD"])
        if config["ADMIN_PASSWORD"]:
            print(f"bootstrap: created admin {email} with the password from ADMIN_PASSWORD", file=out)
        else:
            print(f"bootstrap: created admin {email}; its password, shown only now: {password}", file=out)
    session.commit()


def deactivate_agent(session, redis_client, config, email):
    """The agent can no longer sign in, and everything it holds stops working at once: its refresh
    tokens are revoked, its access tokens void (refused on their next request, live streams ended),
    and the console's cookie (a refresh token) with them. Its tickets stay as they are."""
    from services.tracker_gateway.accounts.tokens import revoke_all_refresh_tokens, void_agent_tokens

    agent = session.scalars(sa.select(Agent).where(Agent.email == email.strip().lower())).first()
    if agent is None:
        raise TenantError(f"no agent with e-mail {email!r}")
    agent.active = False
    revoke_all_refresh_tokens(session, agent.id, "deactivated")
    session.commit()
    void_agent_tokens(agent.id, redis_client, config)
    return agent
