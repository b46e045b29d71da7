"""The agent API's authentication surface: login, refresh, logout, and who am I."""
from flask import Blueprint, current_app, g, jsonify, request

from services.tracker_gateway.accounts import login as accounts_login
from services.tracker_gateway.accounts import tokens
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core import db
from services.tracker_gateway.core.net import client_ip

bp = Blueprint("api_auth", __name__, url_prefix="/api/auth")


@bp.post("/login")
@documented("auth", body=schemas.LoginSchema, responses={
    200: ("Token pair", schemas.TokenPairSchema), 401: ("Wrong e-mail or password", None),
    429: ("Too many failed logins", None)})
def login():
    """E-mail and password for a token pair (throttled after repeated failures)."""
    data = schemas.load(schemas.LOGIN, request.get_json(silent=True))
    return jsonify(accounts_login.login(data["email"], data["password"], client_ip()))


@bp.post("/refresh")
@documented("auth", body=schemas.RefreshSchema, responses={
    200: ("Token pair", schemas.TokenPairSchema), 401: ("Invalid, used or revoked refresh token", None)})
def refresh():
    """A refresh token for a new pair; the one presented stops working."""
    data = schemas.load(schemas.REFRESH, request.get_json(silent=True))
    return jsonify(tokens.rotate_refresh_token(db.session(), data["refresh_token"], current_app.config))


@bp.post("/logout")
@documented("auth", body=schemas.LogoutSchema, body_required=False, responses={204: ("Logged out", None)})
@tokens.login_required
def logout():
    """Revoke this access token and, if given, the refresh token of the same login."""
    # No body is fine; a body is checked like any other, so it must be the object the document describes.
    token = schemas.load(schemas.LOGOUT, request.get_json(silent=True)).get("refresh_token") \
        if request.content_length else None
    if token:
        tokens.revoke_refresh_token(db.session(), token, g.principal.agent_id)
    tokens.revoke_access_token(g.principal)
    return "", 204


@bp.get("/me")
@documented("auth", responses={200: ("The agent", schemas.AgentSchema)})
@tokens.login_required
def me():
    """The agent the access token belongs to."""
    p = g.principal
    return jsonify({"id": p.agent_id, "client_id": p.client_id, "email": p.email, "role": p.role})
