"""The agent's client (tenant): what it is, and its settings (changed by admins only)."""
import uuid

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, fields, validate

from services.tracker_gateway.accounts import directory
from services.tracker_gateway.accounts.models import Client
from services.tracker_gateway.accounts.roles import admin_required, is_admin
from services.tracker_gateway.accounts.team import lock_client
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.api.schemas import load
from services.tracker_gateway.core import db
from services.tracker_gateway.hooks.sendgrid import hook_url
from shared.contracts.schemas import StrictBoolean

bp = Blueprint("api_client", __name__, url_prefix="/api/client")


class ClientSettingsSchema(Schema):
    reopen_window_days = fields.Integer(validate=validate.Range(min=1, max=365), metadata={
        "description": "a customer's message on a ticket closed longer ago than this opens a new ticket"})
    sms_updates = StrictBoolean(metadata={
        "description": "text customers whose ticket has a phone number (E.164) when it is created and resolved "
                       "(the notifier's SMS backend: console or Twilio)"})


class ClientSchema(Schema):
    id = fields.String()
    slug = fields.String()
    name = fields.String()
    inbound_address = fields.String(metadata={"description": "customers' e-mails to this address become tickets"})
    settings = fields.Nested(ClientSettingsSchema)
    sendgrid_inbound_url = fields.String(allow_none=True, metadata={
        "description": "the URL to give SendGrid Inbound Parse (it holds the client's secret): admins only, "
                       "null for agents"})


SETTINGS = ClientSettingsSchema()


def _client_view():
    session, client_id = db.session(), uuid.UUID(g.principal.client_id)
    view = directory.snapshot(session, client_id, current_app.config["INBOUND_EMAIL_DOMAIN"])["client"]
    secret = session.get(Client, client_id).inbound_secret if is_admin(g.principal) else None
    view["sendgrid_inbound_url"] = hook_url(current_app.config["PUBLIC_BASE_URL"], secret) if secret else None
    return jsonify(view)


@bp.get("")
@documented("client", responses={200: ("The agent's client", ClientSchema)})
@login_required
def get_client():
    """The agent's client: name, inbound address and settings (and, for admins, the SendGrid Inbound Parse URL)."""
    return _client_view()


@bp.patch("/settings")
@documented("client", body=ClientSettingsSchema, responses={200: ("The client as changed", ClientSchema)})
@admin_required
def change_settings():
    """Change the client's settings (admins): any subset of them."""
    changes = load(SETTINGS, request.get_json(silent=True))
    session = db.session()
    client = lock_client(session, uuid.UUID(g.principal.client_id))
    client.settings = {**(client.settings or {}), **changes}
    session.commit()
    directory.announce(session, current_app.config, client.id)
    return _client_view()
