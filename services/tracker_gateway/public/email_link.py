"""The tracker's other way in: "e-mail me a link to my ticket" (number + e-mail address).

Every request answers the same page, whether the pair matches a ticket or not, so the form tells
nothing an enumerator could use. Only on a match is the notifier asked (its `send_tracking_link`
RPC) to e-mail the ticket's signed link to the ticket's own address; the gateway sends no mail.

Equal cost: the match is the read model's `read` (one Redis script, the same work for a hit and a
miss, counting no failures), and the RPC is made from a background thread after the answer is
decided, so a match does not wait for the broker. The thread awaits the reply (an unread reply
would stay in the pooled proxy's reply buffer) and logs a failure; the notifier records the email
in its delivery log, keyed by a request id made here, so a retried RPC sends one email.

Limits (core/ratelimit.py, fixed windows): per client address, and per (number, e-mail digest) so
one customer's mailbox cannot be flooded. These requests do not count against the lookup's failure
counters: they reveal no ticket, and a customer locked out of lookups must still be able to ask.

CSRF: as the lookup form (public/tracker.py): no cookie, no authority, and the only effect is an
e-mail to the ticket's own address, so no token.
"""
import logging
import threading
import uuid

from flask import current_app

from services.tracker_gateway.core import ratelimit
from services.tracker_gateway.core.net import client_ip

log = logging.getLogger(__name__)

SENT_MESSAGE = "If this number and address match a ticket, we have sent a link to that address."


def _limits(number, digest):
    config = current_app.config
    window = config["TRACKER_LINK_EMAILS_WINDOW_SECONDS"]
    return (
        ratelimit.Limit(f"trk:mail:ip:{client_ip()}", config["TRACKER_LINK_EMAILS_PER_IP"], window),
        ratelimit.Limit(f"trk:mail:pair:{number}:{digest}", config["TRACKER_LINK_EMAILS_PER_PAIR"], window),
    )


def request_link(number, email):
    """Count the request (TooManyAttempts past a limit) and, on a match, have the link e-mailed."""
    view = current_app.extensions["tracker_view"]
    ratelimit.hit(*_limits(number, view.email_digest(email)))
    outcome = view.read(number, email)
    if outcome[0] == "hit":  # one link per client whose ticket has this number and address
        for client_id, doc, _ in outcome[1]:
            ticket = {**{key: value for key, value in doc.items() if key != "description"}, "client_id": client_id}
            _send_in_background(current_app._get_current_object(), str(uuid.uuid4()), ticket, email)


def _send_in_background(app, request_id, ticket, email):
    def send():
        try:
            with app.app_context():
                app.extensions["rpc_pool"].call("notifier", "send_tracking_link", request_id, ticket, email)
        except Exception:
            log.exception("tracker: the notifier did not take tracking-link request %s", request_id)

    threading.Thread(target=send, name="tracking-link", daemon=True).start()
