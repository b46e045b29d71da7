"""The directory of clients and agents, replicated to the services that need it (contract B).

The gateway owns clients and agents. After any change to a client or its agents, and at every
gateway start, it dispatches the nameko event `directory.client_changed` (as service "directory")
carrying a full snapshot of that client: a consumer replaces its copy of the client with it, so a
lost or reordered event is repaired by the next one (docs/decisions.md). Publishing is best effort:
a failure is logged, never fails the change that caused it, and the next start publishes again.
"""
import logging
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher

from services.tracker_gateway.accounts.models import Agent, Client
from shared.contracts.enums import DIRECTORY_CLIENT_CHANGED, DIRECTORY_SERVICE
from shared.contracts.events import make_envelope

log = logging.getLogger(__name__)

# What a client's settings hold when it never changed them.
# sms_updates: text the customer (with a phone on the ticket) when their ticket is created and resolved.
DEFAULT_CLIENT_SETTINGS = {"reopen_window_days": 14, "sms_updates": False}
# One quick retry: a broker that is away must not hold a request (or a start) for long.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}
# At a start, the publishing process tries again (with back-off) this long if the broker or database is away.
START_RETRY_SECONDS = 300


def inbound_address(slug, domain):
    return f"{slug}@{domain}"


def agent_entry(agent):
    return {
        "id": str(agent.id), "email": agent.email, "name": agent.shown_name, "role": agent.role,
        "active": bool(agent.active),
        "notify": {"customer_messages": bool(agent.notify_customer_messages),
                   "assignments": bool(agent.notify_assignments)},
    }


def settings_of(client):
    """A client's settings, the defaults filled in."""
    return {**DEFAULT_CLIENT_SETTINGS, **(client.settings or {})}


def client_settings(session, client_id):
    """The settings of the client with this id (the defaults when there is no such client)."""
    client = session.get(Client, uuid.UUID(str(client_id)))
    return settings_of(client) if client is not None else dict(DEFAULT_CLIENT_SETTINGS)


def snapshot(session, client_id, domain):
    """The event's data for one client: {client: {...}, agents: [...]}; None if there is no such client."""
    client = session.get(Client, client_id)
    if client is None:
        return None
    agents = session.scalars(sa.select(Agent).where(Agent.client_id == client.id).order_by(Agent.email)).all()
    return {
        "client": {
            "id": str(client.id), "slug": client.slug, "name": client.name,
            "inbound_address": inbound_address(client.slug, domain),
            "settings": settings_of(client),
        },
        "agents": [agent_entry(agent) for agent in agents],
    }


def publish_client(session, dispatch, client_id, domain="support.deskline.localhost"):
    """Dispatch the snapshot of one client (read now, after the change was committed); False if the
    client does not exist. Raises what the broker raises: callers that must not fail use `announce`."""
    # Stamped before the read: a consumer keeps the newest stamp, and a later read sees at least as much.
    occurred_at = datetime.now(timezone.utc)
    data = snapshot(session, client_id, domain)
    if data is None:
        return False
    dispatch(DIRECTORY_SERVICE, DIRECTORY_CLIENT_CHANGED,
             make_envelope(DIRECTORY_CLIENT_CHANGED, data, occurred_at=occurred_at))
    return True


def publish_all(session, dispatch, domain="support.deskline.localhost"):
    """A snapshot of every client (at start: repairs whatever a lost event left behind); how many."""
    client_ids = session.scalars(sa.select(Client.id).order_by(Client.slug)).all()
    return sum(publish_client(session, dispatch, client_id, domain) for client_id in client_ids)


def dispatcher(amqp_uri):
    return event_dispatcher({"AMQP_URI": amqp_uri}, retry_policy=RETRY_POLICY)


def announce(session, config, client_id=None):
    """Publish one client (or all, `client_id` None) from the CLI, a start or a request: True if it
    went out. A failure is logged and swallowed: the change stands and the next start republishes."""
    try:
        dispatch = dispatcher(config["AMQP_URI"])
        domain = config["INBOUND_EMAIL_DOMAIN"]
        if client_id is None:
            publish_all(session, dispatch, domain)
        else:
            publish_client(session, dispatch, client_id, domain)
        return True
    except Exception as exc:  # the broker or the database away: an outage, not a bug (no traceback)
        log.error("directory: could not publish %s (%r); the next gateway start publishes it again",
                  "every client" if client_id is None else f"client {client_id}", exc)
        return False
    finally:
        try:  # end the read's transaction (nothing is pending: callers commit their change first)
            session.commit()
        except Exception:
            session.rollback()


def announce_with_retries(sessions, config, retry_for, sleep=None):
    """`announce` every client until it works or `retry_for` seconds have passed (back-off 1 s to 30 s)."""
    import time

    sleep = sleep or time.sleep
    deadline, delay = time.monotonic() + retry_for, 1.0
    while True:
        with sessions() as session:
            try:
                if announce(session, config):
                    return True
            except Exception as exc:  # the database away: reading the clients failed
                log.error("directory: could not read the clients to publish (%r)", exc)
        if time.monotonic() + delay > deadline:
            return False
        sleep(delay)
        delay = min(delay * 2, 30.0)


def publish_at_start():
    """gunicorn's when_ready: every client's snapshot, published by a short-lived process of its own
    (`publish-directory`), so that no broker or database socket is opened in the master and inherited
    by the workers it forks, and a slow broker does not hold the workers' start."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    try:
        return subprocess.Popen([sys.executable, "-m", "services.tracker_gateway", "publish-directory",
                                 "--retry-for", str(START_RETRY_SECONDS)], cwd=root)
    except OSError:
        log.exception("directory: could not start the process that publishes the directory")
        return None
