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
from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
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


def lookup(number_text, email, signed=False):
    """(doc with its timeline) or None; TooManyAttempts past a limit. A signed link's lookup
    (`signed`: its HMAC is valid) neither checks nor counts failures, so that guesses at a number
    cannot lock its customer out of the link they were e-mailed."""
    number = normalize_number(number_text)
    outcome = _view().read(number, email) if signed else _view().lookup(number, email, client_ip(), _limits())
    if outcome[0] == "limited":
        raise TooManyAttempts(outcome[1])
    if outcome[0] == "miss":
        return None
    _, doc, timeline = outcome
    return {**doc, "timeline": timeline}


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
    thread = thread_view.context(ticket["ticket_number"], email, thread_errors, thread_values)
    return public_csrf.remember(_page(status, ticket=ticket, thread=thread,
                                      show_description=not thread_view.description_repeated(ticket, thread), **context))


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
        ticket = lookup(query["ticket"], query["email"])
    except TooManyAttempts as exc:
        # Other people's typos (an office behind one address) may have used up the limit: say
        # when to come back; the link by e-mail, offered on the same page, needs no waiting.
        return _limited_page(exc, "Too many lookups from your network or for this ticket.",
                             ", or ask below for a link to your ticket by e-mail")
    if ticket is None:
        return _page(404, error=NOT_FOUND_MESSAGE)
    return ticket_page(ticket, query["email"])


@bp.post("/track-ticket/email-link")
def email_link():
    """"E-mail me a link": one answer whatever was entered (public/email_link.py)."""
    query = _form_query()
    try:
        email_links.request_link(normalize_number(query["ticket"]), query["email"])
    except TooManyAttempts as exc:
        return _limited_page(exc, "Too many requests for links.")
    return _page(200, notice=email_links.SENT_MESSAGE)


def from_link(token):
    """(ticket, email) of a signed link whose ticket still has that address; otherwise Answered with
    the bad-link page (a token we did not sign counts as a failed lookup, as a wrong number does)."""
    found = current_app.extensions["tracking_links"].read_token(token)
    if found is None:
        retry_after = _view().record_failure(client_ip(), _limits())
        if retry_after:
            raise TooManyAttempts(retry_after)
        raise Answered(_page(404, error=BAD_LINK_MESSAGE))
    ticket = lookup(*found, signed=True)
    if ticket is None:
        raise Answered(_page(404, error=BAD_LINK_MESSAGE))
    return ticket, found[1]


SENT_NOTICE = "Your message has been added to the conversation."


@bp.get("/track-ticket/<token>")
def signed_link(token):
    """A link from a notification e-mail (or the tracker's own pages): signed, bound to the ticket and
    the address, expiring. `?sent=1`: back from adding a message (public/tracker_thread.py)."""
    ticket, email = from_link(token)
    return ticket_page(ticket, email, notice=SENT_NOTICE if request.args.get("sent") else None)


@bp.get("/api/public/track")
@documented("public", query=schemas.TrackQuerySchema, responses={
    200: ("What the customer may see", schemas.PublicTicketSchema),
    404: ("No ticket matches (the same answer for a wrong e-mail, unknown or malformed number)", None),
    429: ("Too many failed lookups from this address or for this ticket", None)})
def api_track():
    """Track a ticket by number and customer e-mail, as JSON (the form's lookup):
    ?ticket=TKT-00001&email=you@example.com."""
    query = schemas.load(schemas.TRACK_QUERY, request.args.to_dict())
    ticket = lookup(query["ticket"], query["email"])
    if ticket is None:
        return _private(make_response(jsonify({"error": "not_found", "message": NOT_FOUND_MESSAGE}), 404))
    return _private(make_response(jsonify(ticket)))


@bp.get("/")
def home():
    """The site's front door is the tracker."""
    return redirect(url_for("tracker.form"))
