"""Webhooks for admins: the client's endpoints (URL, events, active; the signing secret in the creation's
answer only), each endpoint's deliveries log, "send a test event" and "send again". Thin views over the
webhooks process's RPCs (`python -m services.notifier webhooks`, which stores them in the notifier's
database and delivers), scoped to the admin's client: another client's webhook is a 404.
The contract (headers, signature, retries) is docs/webhooks.md."""
from flask import Blueprint, abort, g, jsonify, request

from services.tracker_gateway.accounts.roles import admin_required
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.api.schemas import load
from services.tracker_gateway.core.rpc import RemoteService
from shared.contracts.webhook_schemas import (
    WEBHOOK_CREATE,
    WEBHOOK_UPDATE,
    WebhookCreatedSchema,
    WebhookDeliveryListSchema,
    WebhookDeliverySchema,
    WebhookInputSchema,
    WebhookListSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)

bp = Blueprint("api_webhooks", __name__, url_prefix="/api/webhooks")


def webhooks():
    return RemoteService("webhooks")


def _body(schema):
    data = load(schema, request.get_json(silent=True))
    return {**data, "url": data["url"].strip()} if "url" in data else data


@bp.get("")
@documented("webhooks", responses={200: ("The client's webhooks (without their secrets)", WebhookListSchema)})
@admin_required
def list_webhooks():
    """The client's webhook endpoints (admins), oldest first; secrets are never shown again."""
    return jsonify({"items": webhooks().list_webhooks(g.principal.client_id)})


@bp.post("")
@documented("webhooks", body=WebhookInputSchema, responses={
    201: ("The new webhook, with its signing secret: shown this once", WebhookCreatedSchema),
    409: ("The client has as many webhooks as it may", None)})
@admin_required
def create_webhook():
    """Add a webhook endpoint (admins): {url, events, active} -> 201 with its secret, shown this once.

    Deliveries are POSTs of the event envelope signed with the secret (Deskline-Signature); a URL whose host is
    a loopback, private or link-local address is refused (unless WEBHOOK_ALLOW_PRIVATE=true)."""
    created = webhooks().create_webhook(g.principal.client_id, _body(WEBHOOK_CREATE), actor=g.principal.email)
    return jsonify(created), 201


@bp.patch("/<uuid:webhook_id>")
@documented("webhooks", body=WebhookUpdateSchema, responses={200: ("The webhook as saved", WebhookSchema)})
@admin_required
def update_webhook(webhook_id):
    """Change a webhook's url, events or active flag (admins); switching it on again starts afresh."""
    return jsonify(webhooks().update_webhook(g.principal.client_id, str(webhook_id), _body(WEBHOOK_UPDATE)))


@bp.delete("/<uuid:webhook_id>")
@documented("webhooks", responses={204: ("Deleted, with its deliveries log", None)})
@admin_required
def delete_webhook(webhook_id):
    """Delete a webhook and its deliveries log (admins)."""
    webhooks().delete_webhook(g.principal.client_id, str(webhook_id))
    return "", 204


@bp.get("/<uuid:webhook_id>/deliveries")
@documented("webhooks", responses={200: ("The webhook's newest deliveries", WebhookDeliveryListSchema)})
@admin_required
def list_deliveries(webhook_id):
    """A webhook's newest deliveries (admins), each with its attempts: status, latency, the answer's start."""
    return jsonify({"items": webhooks().list_webhook_deliveries(g.principal.client_id, str(webhook_id))})


@bp.post("/<uuid:webhook_id>/test")
@documented("webhooks", responses={200: ("The test delivery after its first attempt", WebhookDeliverySchema)})
@admin_required
def send_test(webhook_id):
    """Send a test event (`webhook.test`) to a webhook now (admins); the answer is the delivery after the attempt."""
    return jsonify(webhooks().send_test(g.principal.client_id, str(webhook_id), actor=g.principal.email))


@bp.post("/<uuid:webhook_id>/deliveries/<int:delivery_id>/retry")
@documented("webhooks", responses={
    200: ("The delivery after the attempt", WebhookDeliverySchema),
    409: ("The delivery is being sent right now", None)})
@admin_required
def retry_delivery(webhook_id, delivery_id):
    """Send a delivery again now (admins): the same body and Deskline-Delivery id, with a fresh 24 h of retries."""
    if delivery_id < 1:  # ids start at 1: nothing to ask the webhooks process
        abort(404)
    return jsonify(webhooks().redeliver(g.principal.client_id, str(webhook_id), delivery_id))
