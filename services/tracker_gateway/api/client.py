"""The agent's client (tenant): what it is, and its settings (changed by admins only)."""
import uuid

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import Schema, fields, validate

from services.tracker_gateway.accounts import directory
from services.tracker_gateway.accounts.roles import admin_required
from services.tracker_gateway.accounts.team import lock_client
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.api.schemas import load
from services.tracker_gateway.core import db

bp = Blueprint("api_client", __name__, url_prefix="/api/client")


class ClientSettingsSchema(Schema):
    reopen_window_days = fields.Integer(validate=validate.Range(min=1, max=365), metadata={
        "description": "a customer's message on a ticket closed longer ago than this opens a new ticket"})


class ClientSchema(Schema):
    id = fields.String()
    slug = fields.String()
    name = fields.String()
    inbound_address = fields.String(metadata={"description": "customers' e-mails to this address become tickets"})
    settings = fields.Nested(ClientSettingsSchema)


SETTINGS = ClientSettingsSchema()


def _client_view():
    snapshot = directory.snapshot(db.session(), uuid.UUID(g.principal.client_id), current_app.config["INBOUND_EMAIL_DOMAIN"])
    return jsonify(snapshot["client"])


@bp.get("")
@documented("client", responses={200: ("The agent's client", ClientSchema)})
@login_required
def get_client():
    """The agent's client: name, inbound address and settings."""
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
