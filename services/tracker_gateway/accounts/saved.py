"""What agents keep in the console: saved views (a named list URL query) and canned replies (texts
with placeholders), each personal (`owner_id` = the agent) or shared with the client's team
(`owner_id` null, which only admins may create, change or delete).

Functions over a SQLAlchemy session, scoped by the principal: an agent never sees another agent's
personal rows (404), and a non-admin gets Forbidden (403) on shared ones.
"""
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import Mapped, mapped_column

from services.tracker_gateway.accounts import placeholders, roles
from services.tracker_gateway.accounts.models import Base
from services.tracker_gateway.core.errors import Forbidden
from shared.contracts.exceptions import NotFound
from shared.contracts.schemas import StrictBoolean, Text, required_text
from shared.contracts.ticket_schemas import ListFiltersSchema

NAME_MAX = 80
QUERY_MAX = 1000
BODY_MAX = 10_000
# What a view keeps of the list's URL: its filters and sort (not the page, nor the open ticket).
VIEW_KEYS = ("q", "queue", "status", "priority", "category", "assigned_to", "sla", "sort")
# Enough for any team's sidebar and picker; a runaway script is stopped.
PER_AGENT_MAX = 200


class SavedView(Base):
    __tablename__ = "saved_views"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    query: Mapped[str] = mapped_column(sa.String(QUERY_MAX))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_saved_views_client_owner", "client_id", "owner_id"),)


class CannedReply(Base):
    __tablename__ = "canned_replies"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("clients.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_canned_replies_client_owner", "client_id", "owner_id"),)


# -- input --

class _ListQuery(ListFiltersSchema):
    class Meta:
        exclude = ("client_id", "page", "per_page")


LIST_QUERY = _ListQuery()


def view_filters(query):
    """A list URL query ("status=open&sort=-priority", a leading "?" allowed) as the view's filters
    {name: value}, keeping VIEW_KEYS; raises marshmallow's ValidationError for a value the list
    would refuse."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=False)
    filters = {name: value for name, value in pairs if name in VIEW_KEYS}
    try:
        LIST_QUERY.load(filters)
    except ValidationError as exc:
        raise ValidationError({"query": [f"{name}: {' '.join(reasons)}" for name, reasons in exc.messages.items()]}) from None
    return filters


class ViewInputSchema(Schema):
    name = required_text(NAME_MAX)
    query = Text(required=True, validate=validate.Length(max=QUERY_MAX),
                 metadata={"description": "the ticket list's URL query: filters and sort, e.g. queue=open&sort=-priority"})
    shared = StrictBoolean(load_default=False, metadata={"description": "for the whole team (admins only)"})


class CannedInputSchema(Schema):
    name = required_text(NAME_MAX)
    body = required_text(BODY_MAX, metadata={
        "description": "the text; placeholders: " + ", ".join("{{%s}}" % name for name in placeholders.NAMES)})
    shared = StrictBoolean(load_default=False, metadata={"description": "for the whole team (admins only)"})


class ViewSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    query = fields.String()
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    shared = fields.Boolean()
    editable = fields.Boolean(metadata={"description": "whether this agent may change or delete it"})


class CannedSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    body = fields.String()
    shared = fields.Boolean()
    editable = fields.Boolean()


# -- rules --

def _now():
    return datetime.now(timezone.utc)


def _is_admin(principal):
    return roles.is_admin(principal)  # the role now, not the token's: a demotion counts at once


def _editable(row, principal):
    return _is_admin(principal) if row.owner_id is None else str(row.owner_id) == principal.agent_id


def dump_view(row, principal):
    return {"id": str(row.id), "name": row.name, "query": row.query, "filters": view_filters(row.query),
            "shared": row.owner_id is None, "editable": _editable(row, principal)}


def dump_canned(row, principal):
    return {"id": str(row.id), "name": row.name, "body": row.body, "shared": row.owner_id is None,
            "editable": _editable(row, principal)}


def visible(session, model, principal):
    """The principal's own rows and the team's shared ones: shared first, then by name."""
    return session.scalars(
        sa.select(model).where(model.client_id == uuid.UUID(principal.client_id),
                               sa.or_(model.owner_id.is_(None), model.owner_id == uuid.UUID(principal.agent_id)))
        .order_by(model.owner_id.is_(None).desc(), sa.func.lower(model.name), model.id)
    ).all()


def _check_shared(shared, principal, what):
    if shared and not _is_admin(principal):
        raise Forbidden(f"Only an admin can change {what} shared with the team.")


def _values(model, data):
    if model is SavedView:
        return {"name": data["name"], "query": urlencode(view_filters(data["query"]))}
    placeholders.validate(data["body"])
    return {"name": data["name"], "body": data["body"]}


def create(session, model, data, principal, what):
    _check_shared(data["shared"], principal, what)
    owner = None if data["shared"] else uuid.UUID(principal.agent_id)
    count = session.scalar(sa.select(sa.func.count()).select_from(model).where(
        model.client_id == uuid.UUID(principal.client_id), model.owner_id.is_(owner) if owner is None else model.owner_id == owner))
    if count >= PER_AGENT_MAX:
        raise ValidationError({"name": [f"At most {PER_AGENT_MAX} {what}; delete some first."]})
    row = model(id=uuid.uuid4(), client_id=uuid.UUID(principal.client_id), owner_id=owner, **_values(model, data))
    session.add(row)
    session.commit()
    return row


def find(session, model, row_id, principal):
    """A row this principal can see (own or shared, same client); NotFound otherwise."""
    row = session.get(model, row_id)
    if row is None or str(row.client_id) != principal.client_id or (
            row.owner_id is not None and str(row.owner_id) != principal.agent_id):
        raise NotFound(str(row_id))
    return row


def update(session, model, row_id, data, principal, what):
    row = find(session, model, row_id, principal)
    _check_shared(row.owner_id is None, principal, what)
    if "shared" in data and data["shared"] != (row.owner_id is None):
        _check_shared(True, principal, what)  # moving between personal and shared: an admin's call
        row.owner_id = None if data["shared"] else uuid.UUID(principal.agent_id)
    for name, value in _values(model, data).items():
        setattr(row, name, value)
    row.updated_at = _now()
    session.commit()
    return row


def delete(session, model, row_id, principal, what):
    row = find(session, model, row_id, principal)
    _check_shared(row.owner_id is None, principal, what)
    session.delete(row)
    session.commit()
