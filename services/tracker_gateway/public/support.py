"""A client's public web form (`/support/<client-slug>`): a customer opens a ticket without a chat.

The ticket is made by the tickets service's create_ticket, with channel "web" and the description as
its first customer message carrying the attachments (contract A); the notifier then e-mails the
customer the "ticket created" mail with its signed tracking link, as for every new ticket.

Against abuse, in this order: the CSRF token (public_csrf.py); per-address and per-e-mail limits
(core/ratelimit.py, fixed windows in Redis, 429 with the wait in words); the honeypot, a field people
never see that bots fill in, answered with the very same confirmation page and nothing created (a bot
learns nothing to adapt to). Each render carries a fresh `form_id`, and the ticket's idempotency key
derives from it and the address, so a double submit (two clicks, a reload of the result) makes one ticket.
"""
import hashlib
import secrets

from flask import Blueprint, current_app, make_response, render_template

from services.tracker_gateway.core import ratelimit
from services.tracker_gateway.core.errors import TooManyAttempts, retry_in_words
from services.tracker_gateway.core.net import client_ip
from services.tracker_gateway.core.rpc import tickets
from services.tracker_gateway.projector.read_model import normalize_email
from services.tracker_gateway.public import forms, public_csrf, uploads
from services.tracker_gateway.public.chat import client_for
from shared.contracts.exceptions import NotFound

bp = Blueprint("support", __name__)

HONEYPOT = "website"
UNKNOWN_CLIENT_MESSAGE = "There is no support form at this address. Check the link you were given."


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _client(slug):
    """The client, or None for an unknown slug (a 404 page of its own, below)."""
    try:
        return client_for(slug)
    except NotFound:
        return None


def _unknown_client():
    page = render_template("common/error.html", status=404, message=UNKNOWN_CLIENT_MESSAGE)
    return _private(make_response(page, 404))


def _form_page(client, status=200, values=None, errors=None, alert=None, headers=None):
    """The form; after a refusal with what was typed, the errors next to their fields, a new form_id
    only if the old one was bad (so that sending it again is still the same submission)."""
    values = dict(values or {})
    if not forms.FORM_ID.fullmatch(values.get("form_id") or ""):
        values["form_id"] = secrets.token_hex(16)
    page = render_template(
        "public/support.html", client=client, values=values, errors=errors or {}, alert=alert,
        categories=forms.CATEGORY_LABELS, csrf_token=public_csrf.token(), honeypot=HONEYPOT,
        max_files=uploads.limits()[0], max_bytes=uploads.limits()[1], max_size=uploads.megabytes(uploads.limits()[1]))
    response = _private(public_csrf.remember(make_response(page, status)))
    response.headers.update(headers or {})
    return response


def _done_page(client, ticket_number, email):
    page = render_template("public/support_done.html", client=client, ticket_number=ticket_number, email=email)
    return _private(make_response(page, 200))


def _limit(per, key):
    """The form's limit per "ip" or per "email" (SUPPORT_FORM_PER_IP / SUPPORT_FORM_PER_EMAIL)."""
    config = current_app.config
    return ratelimit.Limit(f"support:{per}:{key}", config[f"SUPPORT_FORM_PER_{per.upper()}"],
                           config["SUPPORT_FORM_WINDOW_SECONDS"])


def _email_key(email):
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


def idempotency_key(form_id, email):
    """One ticket per form render and address (a form_id copied into another's submission names another key)."""
    return "web-form:" + hashlib.sha256(f"{form_id}:{normalize_email(email)}".encode()).hexdigest()[:40]


def _fake_number():
    # The honeypot's answer looks like any other: a number of the same shape, matching no ticket a bot could track.
    return f"TKT-{secrets.randbelow(90000) + 10000:05d}"


@bp.get("/support/<slug>")
def form(slug):
    """The client's web form."""
    client = _client(slug)
    return _form_page(client) if client else _unknown_client()


@bp.post("/support/<slug>")
def submit(slug):
    """Open a ticket from the form: the confirmation page with its number, or the form with what to fix."""
    client = _client(slug)
    if client is None:
        return _unknown_client()
    try:
        form_data = uploads.read_form()
    except uploads.UploadRefused as refused:
        return _form_page(client, refused.status, errors={uploads.FIELD: refused.message})
    public_csrf.check(form_data)
    values = form_data.to_dict()
    try:
        ratelimit.hit(_limit("ip", client_ip()))
        data, errors = forms.load(forms.SUPPORT_FORM, form_data)
        files = None
        if not errors:
            ratelimit.hit(_limit("email", _email_key(data["email"])))
            try:
                files = uploads.attachments()
            except uploads.UploadRefused as refused:
                return _form_page(client, refused.status, values, {uploads.FIELD: refused.message})
    except TooManyAttempts as exc:
        message = f"Too many requests from your network or for this e-mail address. Try again {retry_in_words(exc.retry_after)}."
        return _form_page(client, 429, values, alert=message, headers={"Retry-After": str(exc.retry_after)})
    if errors:
        # A form_id is no field a person can fix: the page says so at its top, with a new one.
        alert = errors.pop("form_id", None) or "Please correct the fields marked below."
        return _form_page(client, 422, values, errors, alert=alert)
    if form_data.get(HONEYPOT):
        return _done_page(client, _fake_number(), data["email"])
    ticket = tickets().create_ticket(ticket_data(str(client.id), data, files),
                                     idempotency_key=idempotency_key(data["form_id"], data["email"]))
    return _done_page(client, ticket["ticket_number"], data["email"])


def ticket_data(client_id, data, files):
    """create_ticket's data: the ticket, from the web, its description the customer's first message."""
    customer = {"author_name": data["name"], "author_email": data["email"]}
    return {
        "client_id": client_id, "title": data["subject"], "description": data["description"],
        "category": data["category"], "customer_name": data["name"], "customer_email": data["email"],
        "channel": "web",
        "messages": [{"body": data["description"], "visibility": "public", "author_type": "customer",
                      "channel": "web", "attachments": files, **customer}],
    }
