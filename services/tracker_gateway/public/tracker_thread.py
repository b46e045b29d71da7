"""What a customer does in their ticket's conversation on the tracker: add a message (with files) and
download the thread's attachments. Both go through a signed tracking link's token (the e-mailed link,
or the one the tracker's page makes after a number + e-mail match: public/thread_view.py), checked
like the signed link itself (public/tracker.py `from_link`): a bad token is one more failed lookup,
and a link whose ticket no longer has that address opens nothing.

Adding a message: limited per address and per ticket like the lookup (fixed windows in Redis, 429 with
the wait in words), CSRF-checked (public_csrf.py), then contract A's add_message with author_type
customer, channel tracker and the ticket's own customer address as author; the form's `form_id` is the
idempotency key, so a double submit adds one message. The answer is a redirect to the ticket's page
(a reload does not post again).

Downloads: only attachments of the ticket's public messages (an internal note's file, or another
ticket's, is "not found" whatever its id), always as a download (`Content-Disposition: attachment`,
`application/octet-stream`, nosniff, a sandboxing CSP): a file a customer uploaded can never run as a
page of ours.
"""
import base64
import io
import uuid

from flask import Blueprint, current_app, redirect, send_file, url_for

from services.tracker_gateway.accounts import directory
from services.tracker_gateway.core import db, ratelimit
from services.tracker_gateway.core.errors import TooManyAttempts, retry_in_words
from services.tracker_gateway.core.net import client_ip
from services.tracker_gateway.core.rpc import tickets
from services.tracker_gateway.public import forms, public_csrf, thread_view, tracker, uploads
from shared.contracts.exceptions import NotFound
from shared.contracts.message_schemas import size_text

bp = Blueprint("tracker_thread", __name__)

MISSING_FILE_MESSAGE = "This file is not available."
EMPTY_MESSAGE = "Write a message or attach a file."
NEW_TICKET_NOTICE = ("{old} was closed some time ago, so your message opened a new ticket, {new}. "
                     "We have e-mailed you a link to it.")


@bp.app_template_filter("filesize")
def filesize(size):
    """An attachment's size as its link shows it (shared.contracts.message_schemas.size_text)."""
    return size_text(int(size or 0))


@bp.errorhandler(tracker.Answered)
def _answered(exc):
    return exc.response


def _limits(client_id, number):
    config = current_app.config
    window = config["TRACKER_MESSAGES_WINDOW_SECONDS"]
    return (ratelimit.Limit(f"trk:msg:ip:{client_ip()}", config["TRACKER_MESSAGES_PER_IP"], window),
            ratelimit.Limit(f"trk:msg:n:{client_id}:{number}", config["TRACKER_MESSAGES_PER_TICKET"], window))


def _refused(ticket, email, status, errors, values=None, headers=None):
    response = tracker.ticket_page(ticket, email, status, thread_errors=errors, thread_values=values)
    response.headers.update(headers or {})
    return response


@bp.post("/track-ticket/<token>/messages")
def add_message(token):
    """The customer's message (and files) on their ticket; back to the ticket's page."""
    ticket, email = tracker.from_link(token)
    number, client_id = ticket["ticket_number"], ticket["client_id"]
    try:
        form = uploads.read_form()
    except uploads.UploadRefused as refused:
        return _refused(ticket, email, refused.status, {uploads.FIELD: refused.message})
    public_csrf.check(form)
    values = form.to_dict()
    try:
        ratelimit.hit(*_limits(client_id, number))
    except TooManyAttempts as exc:
        message = f"Too many messages from your network or on this ticket. Try again {retry_in_words(exc.retry_after)}."
        return _refused(ticket, email, 429, {"body": message}, values, headers={"Retry-After": str(exc.retry_after)})
    data, errors = forms.load(forms.TRACKER_REPLY, form)
    if errors:
        if "form_id" in errors:  # no field a person can fix: said under the message, with a new form_id
            errors.setdefault("body", errors.pop("form_id"))
            values.pop("form_id", None)
        return _refused(ticket, email, 422, errors, values)
    try:
        files = uploads.attachments()
    except uploads.UploadRefused as refused:
        return _refused(ticket, email, refused.status, {uploads.FIELD: refused.message}, values)
    if not data["body"] and not files:
        return _refused(ticket, email, 422, {"body": EMPTY_MESSAGE}, values)
    customer = tickets().get_ticket(number, client_id=client_id)
    # On a ticket closed longer ago than the client's window the message opens a new ticket, as by e-mail.
    window = directory.client_settings(db.session(), client_id)["reopen_window_days"]
    message = {"body": data["body"], "visibility": "public", "author_type": "customer", "channel": "tracker",
               "author_name": customer.get("customer_name"), "author_email": customer.get("customer_email") or email,
               "attachments": files, "reopen_window_days": window}
    result = tickets().add_message(number, message, client_id=client_id, idempotency_key=f"tracker:{data['form_id']}")
    if result.get("created_ticket"):
        new_number = result["ticket"]["ticket_number"]
        notice = NEW_TICKET_NOTICE.format(old=number, new=new_number)
        return tracker.ticket_page(ticket, email, notice=notice)
    return redirect(url_for("tracker.signed_link", token=token, sent=1, _anchor="conversation"), 303)


@bp.get("/track-ticket/<token>/attachments/<attachment_id>")
def download(token, attachment_id):
    """One file of the ticket's public conversation, as a download."""
    ticket, email = tracker.from_link(token)
    number, client_id = ticket["ticket_number"], ticket["client_id"]
    listed = _public_attachment(number, client_id, attachment_id)
    if listed is None:
        raise tracker.Answered(tracker.error_page(404, MISSING_FILE_MESSAGE))
    try:
        found = tickets().get_attachment(number, str(listed["id"]), client_id=client_id)
    except NotFound:
        raise tracker.Answered(tracker.error_page(404, MISSING_FILE_MESSAGE)) from None
    response = send_file(io.BytesIO(base64.b64decode(found["data_b64"])), mimetype="application/octet-stream", as_attachment=True,
                         download_name=found.get("filename") or listed.get("filename") or "attachment", max_age=0)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _public_attachment(number, client_id, attachment_id):
    """The attachment with this id among the ticket's public messages, or None."""
    try:
        wanted = uuid.UUID(attachment_id)
    except ValueError:
        return None
    for message in thread_view.public_messages(number, client_id):
        for attachment in message.get("attachments") or ():
            if str(attachment.get("id")) == str(wanted):
                return attachment
    return None
