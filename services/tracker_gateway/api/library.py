"""The CRUD endpoints saved views and canned replies share: GET/POST on the collection, PUT/DELETE on
one item, every rule in accounts/saved.py (personal or shared; shared ones are the admins')."""
from flask import g, jsonify, request
from marshmallow import Schema, fields

from services.tracker_gateway.accounts import saved
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import schemas
from services.tracker_gateway.api.openapi import documented
from services.tracker_gateway.core import db

FORBIDDEN = "Shared with the team, and the agent is not an admin"


def add_crud(bp, tag, model, input_schema, output_schema, dump, what, id_name):
    """Register the four endpoints on `bp` (its url_prefix is the collection's path)."""
    # PUT takes any subset of the fields: its own component (ViewChange, CannedChange), none required.
    change_schema = type(input_schema.__name__.replace("Input", "Change"), (input_schema,), {})
    create_input, update_input = input_schema(), change_schema(partial=True)
    item = f"/<uuid:{id_name}>"

    def listing():
        rows = saved.visible(db.session(), model, g.principal)
        return jsonify({"items": [dump(row, g.principal) for row in rows]})

    def create():
        data = schemas.load(create_input, request.get_json(silent=True))
        return jsonify(dump(saved.create(db.session(), model, data, g.principal, what), g.principal)), 201

    def change(**ids):
        data = schemas.load(update_input, request.get_json(silent=True))
        row = saved.find(db.session(), model, ids[id_name], g.principal)
        merged = {"name": row.name, **({"query": row.query} if model is saved.SavedView else {"body": row.body}), **data}
        return jsonify(dump(saved.update(db.session(), model, ids[id_name], merged, g.principal, what), g.principal))

    def remove(**ids):
        saved.delete(db.session(), model, ids[id_name], g.principal, what)
        return "", 204

    listing.__doc__ = f"The agent's own {what} and the team's shared ones (shared first, then by name)."
    create.__doc__ = f"Save one of the {what}: personal, or shared with the team (admins only: 403 otherwise)."
    change.__doc__ = f"Change one of the {what} (any subset of the fields); a shared one only by an admin."
    remove.__doc__ = f"Delete one of the {what}; a shared one only by an admin."
    page = type(f"{model.__name__}ListSchema", (Schema,), {"items": fields.List(fields.Nested(output_schema))})
    routes = (
        ("get", "", listing, {"responses": {200: (what.capitalize(), page)}}),
        ("post", "", create, {"body": input_schema, "responses": {201: ("Saved", output_schema), 403: (FORBIDDEN, None)}}),
        ("put", item, change, {"body": update_input, "responses": {200: ("Saved", output_schema), 403: (FORBIDDEN, None)}}),
        ("delete", item, remove, {"responses": {204: ("Deleted", None), 403: (FORBIDDEN, None)}}),
    )
    for method, path, view, doc in routes:
        view.__name__ = f"{view.__name__}_{model.__tablename__}"
        getattr(bp, method)(path)(documented(tag, **doc)(login_required(view)))
