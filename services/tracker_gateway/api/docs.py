"""The API's documentation: the OpenAPI document and a server-rendered page that reads it."""
from flask import Blueprint, current_app, jsonify, render_template

bp = Blueprint("api_docs", __name__)


@bp.get("/api/openapi.json")
def openapi_document():
    """The OpenAPI 3 document."""
    return jsonify(current_app.extensions["openapi"])


@bp.get("/api/docs")
def docs_page():
    """Every path, its parameters, bodies and responses, and the schemas, as one page."""
    return render_template("public/api_docs.html", spec=current_app.extensions["openapi"])
