"""E-mails to agents (invitations, password resets): the gateway makes the single-use link and the
notifier sends it (its `send_agent_link` RPC, one email per request id, retried there)."""
import logging
import threading
import uuid

from flask import current_app

from services.tracker_gateway.accounts.models import Client
from services.tracker_gateway.core.errors import ServiceUnavailable
from services.tracker_gateway.core.rpc import RemoteService

log = logging.getLogger(__name__)

INVITATION, PASSWORD_RESET = "invitation", "password_reset"
PATHS = {INVITATION: "/agent/invitation/", PASSWORD_RESET: "/agent/reset-password/"}


def link_url(kind, token):
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}{PATHS[kind]}{token}"


def _request(session, kind, agent, token, expires_at, invited_by=None, request_id=None):
    client = session.get(Client, agent.client_id)
    context = {"agent_name": agent.shown_name, "client_name": client.name, "link_url": link_url(kind, token),
               "expires_at": expires_at.isoformat(), "invited_by": invited_by}
    return (request_id or str(uuid.uuid4()), kind, agent.email, context)


def send_now(session, kind, agent, token, expires_at, invited_by=None, request_id=None):
    """Hand the e-mail to the notifier in this request; False if it could not be reached (logged)."""
    try:
        RemoteService("notifier").send_agent_link(*_request(session, kind, agent, token, expires_at, invited_by,
                                                            request_id))
        return True
    except ServiceUnavailable as exc:
        log.warning("accounts: the %s e-mail for agent %s was not handed over: %s", kind, agent.id, exc)
        return False


def send_in_background(session, kind, agent, token, expires_at):
    """Hand the e-mail over from a thread, after the answer is decided (a forgotten password's page
    answers as fast for a known address as for an unknown one)."""
    app, args = current_app._get_current_object(), _request(session, kind, agent, token, expires_at)

    def send():
        try:
            with app.app_context():
                app.extensions["rpc_pool"].call("notifier", "send_agent_link", *args)
        except Exception:
            log.exception("accounts: the notifier did not take %s request %s", kind, args[0])

    threading.Thread(target=send, name=f"agent-{kind}", daemon=True).start()
