"""The public ticket tracker (no login): the form, its result, the JSON lookup and signed links.

Every lookup is one script in Redis over the tracker's read model (tracker_view.py): no RPC, and
the same work whether the number is unknown, malformed or the e-mail wrong, which all answer
with the same bytes. Failed lookups are counted per client address and per ticket number in
Redis, so the limits hold across every gateway instance.

CSRF: the lookup form's POST carries no ambient authority (it reads no cookie, the lookup changes
nothing but the caller's own failure counters), and a cross-site page cannot read the result, so a
forged POST gains an attacker nothing they could not do directly: no token. A matched ticket's page
shows its public conversation and a reply form (public/thread_view.py, public/tracker_thread.py),
which does change something: that form has a CSRF token (public_csrf.py), whose cookie only a
matched ticket's page sets, so that every miss still answers the same bytes and headers.
"""
import uuid

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.accounts.models import Client

from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core import db
from services.tracker_gateway.core.errors import TooManyAttempts, retry_in_words
from services.tracker_gateway.core.net import client_ip
from services.tracker_gateway.projector.read_model import normalize_number
from services.tracker_gateway.public import email_link as email_links
from services.tracker_gateway.public import public_csrf, thread_view

bp = Blueprint("tracker", __name__)

NOT_FOUND_MESSAGE = "No ticket matches this number and e-mail address."
BAD_LINK_MESSAGE = "This tracking link is not valid or has expired. Look your ticket up with its number and e-mail address."


def _limits():
    config = current_app.config
    return {
        "per_ip": config["TRACKER_FAILURES_PER_IP"],
        "ip_window": config["TRACKER_IP_WINDOW_SECONDS"],
        "per_ticket": config["TRACKER_FAILURES_PER_TICKET"],
        "ticket_window": config["TRACKER_TICKET_WINDOW_SECONDS"],
    }


def _view():
    return current_app.extensions["tracker_view"]


def client_names(client_ids):
    """{client id: its name} for the clients of matched tickets (read only after a match)."""
    ids = [uuid.UUID(client) for client in client_ids if _is_uuid(client)]
    if not ids:
        return {}
    return {str(client_id): name for client_id, name in
            db.session().execute(sa.select(Client.id, Client.name).where(Client.id.in_(ids)))}


def _is_uuid(text):
    try:
        uuid.UUID(text)
        return True
    except (TypeError, ValueError):
        return False


def lookup(number_text, email, signed=False, client_id=None):
    """Every ticket with this number and customer e-mail, one per client (numbers are per client), as
    docs with their timeline, `client_id` and `client_name`, the latest updated first; [] if none.
    TooManyAttempts past a limit. A signed link's lookup (`signed`: its HMAC is valid) neither checks
    nor counts failures, so that guesses at a number cannot lock its customer out of the link they were
    e-mailed; a link that names its client (`client_id`) opens only that client's ticket."""
    number = normalize_number(number_text)
    outcome = _view().read(number, email, client_id) if signed else _view().lookup(number, email, client_ip(), _limits())
    if outcome[0] == "limited":
        raise TooManyAttempts(outcome[1])
    if outcome[0] == "miss":
        return []
    found = outcome[1]
    names = client_names([client for client, _, _ in found])
    tickets = [{**doc, "timeline": timeline, "client_id": client, "client_name": names.get(client)}
               for client, doc, timeline in found]
    return sorted(tickets, key=lambda ticket: ticket.get("updated_at") or "", reverse=True)


def _private(response):
    # A ticket's details are for the person who asked: never cached, never sent on as a Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _page(status, **context):
    return _private(make_response(render_template("public/track.html", **context), status))


def error_page(status, message):
    return _page(status, error=message)


def ticket_page(ticket, email, status=200, thread_errors=None, thread_values=None, **context):
    """A matched ticket's page: its facts from the read model, and its public conversation with the
    reply form (public/thread_view.py), whose CSRF cookie it sets (a miss sets none)."""
    thread = thread_view.context(ticket["ticket_number"], email, ticket["client_id"], thread_errors, thread_values)
    return public_csrf.remember(_page(status, ticket=ticket, thread=thread,
                                      show_description=not thread_view.description_repeated(ticket, thread), **context))


def matches_page(tickets, email):
    """The same number and address at several clients: each ticket with its client's name and a
    signed link (naming its client) to its own page and conversation."""
    links = current_app.extensions["tracking_links"]
    choices = [{**ticket, "token": links.make_token(ticket["ticket_number"], email, ticket["client_id"])}
               for ticket in tickets]
    return _page(200, matches=choices)


def result_page(tickets, email, **context):
    """One match: its page; several (one per client): the choice between them."""
    if len(tickets) == 1:
        return ticket_page(tickets[0], email, **context)
    return matches_page(tickets, email)


@bp.get("/track-ticket")
def form():
    """The lookup form."""
    return _page(200)


class Answered(Exception):
    """A form handled before its work: `response` is the page to send (fields missing, limited)."""

    def __init__(self, response):
        super().__init__("answered")
        self.response = response


def _form_query():
    try:
        return schemas.TRACK_QUERY.load(request.form.to_dict())
    except SchemaError:
        raise Answered(_page(422, error="Enter your ticket number and the e-mail address you gave us.")) from None


def _limited_page(exc, what, alternative=""):
    # Said in words on the tracker's own page (Retry-After kept for machines).
    response = _page(429, error=f"{what} Try again {retry_in_words(exc.retry_after)}{alternative}.")
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.errorhandler(Answered)
def _answered(exc):
    return exc.response


@bp.post("/track-ticket")
def form_result():
    """The form's result: the ticket, or one message for every kind of miss."""
    query = _form_query()
    try:
        tickets = lookup(query["ticket"], query["email"])  # one per client with this number and address
    except TooManyAttempts as exc:
        # Other people's typos (an office behind one address) may have used up the limit: say
        # when to come back; the link by e-mail, offered on the same page, needs no waiting.
        return _limited_page(exc, "Too many lookups from your network or for this ticket.",
                             ", or ask below for a link to your ticket by e-mail")
    if not tickets:
        return _page(404, error=NOT_FOUND_MESSAGE)
    return result_page(tickets, query["email"])


@bp.post("/track-ticket/email-link")
def email_link():
    """"E-mail me a link": one answer whatever was entered (public/email_link.py)."""
    query = _form_query()
    try:
        email_links.request_link(normalize_number(query["ticket"]), query["email"])
    except TooManyAttempts as exc:
        return _limited_page(exc, "Too many requests for links.")
    return _page(200, notice=email_links.SENT_MESSAGE)


def from_link(token, single=True):
    """(tickets, email) of a signed link whose ticket still has that address; otherwise Answered with
    the bad-link page (a token we did not sign counts as a failed lookup, as a wrong number does).
    A link names its ticket's client; one made before numbers were per client does not, and finds
    every client's ticket with its number and address: `single` then answers the choice between them
    (Answered) when there are several, so the caller gets exactly one."""
    found = current_app.extensions["tracking_links"].read_link(token)
    if found is None:
        retry_after = _view().record_failure(client_ip(), _limits())
        if retry_after:
            raise TooManyAttempts(retry_after)
        raise Answered(_page(404, error=BAD_LINK_MESSAGE))
    number, email, client_id = found
    tickets = lookup(number, email, signed=True, client_id=client_id)
    if not tickets:
        raise Answered(_page(404, error=BAD_LINK_MESSAGE))
    if single and len(tickets) > 1:
        raise Answered(matches_page(tickets, email))
    return tickets[0], email


SENT_NOTICE = "Your message has been added to the conversation."


@bp.get("/track-ticket/<token>")
def signed_link(token):
    """A link from a notification e-mail (or the tracker's own pages): signed, bound to the ticket and
    the address, expiring. `?sent=1`: back from adding a message (public/tracker_thread.py)."""
    ticket, email = from_link(token)
    return ticket_page(ticket, email, notice=SENT_NOTICE if request.args.get("sent") else None)


@bp.get("/api/public/track")
@documented("public", query=schemas.TrackQuerySchema, responses={
    200: ("What the customer may see", schemas.PublicTrackSchema),
    404: ("No ticket matches (the same answer for a wrong e-mail, unknown or malformed number)", None),
    429: ("Too many failed lookups from this address or for this ticket", None)})
def api_track():
    """Track a ticket by number and customer e-mail, as JSON (the form's lookup):
    ?ticket=TKT-00001&email=you@example.com."""
    query = schemas.load(schemas.TRACK_QUERY, request.args.to_dict())
    tickets = lookup(query["ticket"], query["email"])
    if not tickets:
        return _private(make_response(jsonify({"error": "not_found", "message": NOT_FOUND_MESSAGE}), 404))
    shown = [{key: value for key, value in ticket.items() if key != "client_id"} for ticket in tickets]
    # The latest updated ticket, as before; `matches`: every client's ticket with this number and address.
    return _private(make_response(jsonify({**shown[0], "matches": shown})))


@bp.get("/")
def home():
    """The site's front door is the tracker."""
    return redirect(url_for("tracker.form"))
