"""SendGrid Inbound Parse: `POST /hooks/sendgrid/inbound/<secret>`, a multipart form as SendGrid
sends it. The secret names the client; the raw MIME message (the `email` field, when "POST the raw,
full MIME message" is ticked, else rebuilt from the parsed fields) goes to the notifier's
`receive_email`, the same code as the SMTP receiver. Answers 200 with what became of the mail
(SendGrid retries anything else for days), 503 when it could not be taken in yet (then it should
retry), 404 for an unknown secret."""
import base64
import json
import logging
from email import policy
from email.message import EmailMessage
from email.parser import HeaderParser

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request

from services.tracker_gateway.accounts.directory import inbound_address
from services.tracker_gateway.accounts.models import Client
from services.tracker_gateway.core import db
from services.tracker_gateway.core.errors import ServiceUnavailable
from services.tracker_gateway.core.rpc import RemoteService
from shared.contracts.exceptions import NotFound

log = logging.getLogger(__name__)
bp = Blueprint("hooks_sendgrid", __name__)

# SendGrid posts at most 30 MB; the notifier refuses (and records) what is over its own limit.
MAX_POST_BYTES = 32 * 1024 * 1024
# Headers copied when the message must be rebuilt from parsed fields (no raw `email` field).
KEPT_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Reply-To",
                "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "Return-Path", "X-Failed-Recipients",
                "List-Id", "X-Deskline-Delivery")


def rebuild(form, files):
    """A MIME message from Inbound Parse's parsed fields: headers, text, html, attachmentN files."""
    headers = HeaderParser(policy=policy.compat32).parsestr(form.get("headers") or "", headersonly=True)
    message = EmailMessage()
    for name in KEPT_HEADERS:
        for value in headers.get_all(name, []):
            message[name] = " ".join(str(value).split())
    if "From" not in message and form.get("from"):
        message["From"] = form["from"]
    if "Subject" not in message and form.get("subject"):
        message["Subject"] = form["subject"]
    message.set_content(form.get("text") or "")
    if form.get("html"):
        message.add_alternative(form["html"], subtype="html")
    for key in sorted(files, key=lambda name: (len(name), name)):
        upload = files[key]
        maintype, _, subtype = (upload.mimetype or "application/octet-stream").partition("/")
        message.add_attachment(upload.read(), maintype=maintype or "application", subtype=subtype or "octet-stream",
                               filename=upload.filename or key)
    return message.as_bytes(policy=policy.SMTP)


def envelope_recipients(form):
    try:
        envelope = json.loads(form.get("envelope") or "{}")
    except ValueError:
        envelope = {}
    recipients = envelope.get("to") if isinstance(envelope, dict) else None
    return [str(address) for address in recipients if address][:100] if isinstance(recipients, list) else []


def hook_url(base_url, secret):
    """The URL a client's admin gives SendGrid Inbound Parse (GET /api/client shows it to admins)."""
    return f"{base_url.rstrip('/')}/hooks/sendgrid/inbound/{secret}"


@bp.post("/hooks/sendgrid/inbound/<secret>")
def inbound(secret):
    """SendGrid Inbound Parse for one client (the URL's secret): the mail onto its ticket."""
    client = db.session().scalars(sa.select(Client).where(Client.inbound_secret == secret)).first() if secret else None
    if client is None:
        raise NotFound("no such inbound hook")
    request.max_content_length = MAX_POST_BYTES
    request.max_form_memory_size = MAX_POST_BYTES  # the raw `email` field is a form field, not a file
    form, files = request.form, request.files
    raw = form.get("email")
    raw = raw.encode("utf-8") if raw else rebuild(form, files)
    # The client's own address last: mail that reached this client's URL belongs to it if nothing else says.
    recipients = [*envelope_recipients(form), inbound_address(client.slug, current_app.config["INBOUND_EMAIL_DOMAIN"])]
    outcome = RemoteService("notifier").receive_email(base64.b64encode(raw).decode(), recipients, "sendgrid")
    if outcome["status"] == "failed":
        raise ServiceUnavailable("tickets", "the mail could not be handed over yet")
    return jsonify({key: outcome.get(key) for key in ("status", "reason", "ticket_number", "matched_by")})
