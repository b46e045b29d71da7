"""The notifier's copy of the gateway's directory of clients and agents (contract B, docs/decisions.md).

Each `directory.client_changed` event carries a full snapshot of one client and its agents:
`apply_snapshot` replaces the copy of that client with it, unless a newer snapshot was applied
already (events may come twice or out of order). The read functions return plain dicts.
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy.dialects.postgresql import insert

from shared.contracts.enums import AGENT_NOTIFY_KINDS, AGENT_ROLES
from shared.contracts.events import MalformedEvent

from .models import DirectoryAgent, DirectoryClient


class _NotifySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    customer_messages = fields.Boolean(load_default=True)
    assignments = fields.Boolean(load_default=True)


class _AgentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(required=True, validate=validate.Length(max=200))
    role = fields.String(required=True, validate=validate.OneOf(AGENT_ROLES))
    active = fields.Boolean(required=True)
    notify = fields.Nested(_NotifySchema, load_default=lambda: {"customer_messages": True, "assignments": True})


class _ClientSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    slug = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(max=200))
    inbound_address = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=254))
    settings = fields.Dict(load_default=dict)


class SnapshotSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    client = fields.Nested(_ClientSchema, required=True)
    agents = fields.List(fields.Nested(_AgentSchema), required=True)


def _now():
    return datetime.now(timezone.utc)


def apply_snapshot(session, data, occurred_at=None):
    """Replace the copy of the snapshot's client and its agents; False (and nothing changed) when a
    snapshot at least as new was applied already. MalformedEvent for data that is not a snapshot."""
    try:
        snapshot = SnapshotSchema().load(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        raise MalformedEvent(f"not a directory snapshot: {exc.messages}") from None
    occurred_at = occurred_at or _now()
    client, now = snapshot["client"], _now()
    values = dict(id=client["id"], slug=client["slug"], name=client["name"], inbound_address=client["inbound_address"],
                  settings=client["settings"], snapshot_at=occurred_at, updated_at=now)
    statement = insert(DirectoryClient).values(**values)
    # The upsert takes the client's row lock: concurrent snapshots of one client apply one after the other.
    statement = statement.on_conflict_do_update(
        index_elements=[DirectoryClient.id],
        set_={key: statement.excluded[key] for key in values if key != "id"},
        where=DirectoryClient.snapshot_at <= statement.excluded.snapshot_at,
    ).returning(DirectoryClient.id)
    if session.execute(statement).first() is None:
        return False
    session.execute(sa.delete(DirectoryAgent).where(DirectoryAgent.client_id == client["id"]))
    # An agent id seen under another client before (moved): the newest snapshot has it.
    agent_ids = [agent["id"] for agent in snapshot["agents"]]
    if agent_ids:
        session.execute(sa.delete(DirectoryAgent).where(DirectoryAgent.id.in_(agent_ids)))
        session.execute(insert(DirectoryAgent), [
            dict(id=agent["id"], client_id=client["id"], email=agent["email"].strip().lower(), name=agent["name"],
                 role=agent["role"], active=agent["active"],
                 notify_customer_messages=agent["notify"]["customer_messages"],
                 notify_assignments=agent["notify"]["assignments"])
            for agent in snapshot["agents"]
        ])
    return True


def _client_dict(row):
    return {"id": str(row.id), "slug": row.slug, "name": row.name, "inbound_address": row.inbound_address,
            "settings": dict(row.settings or {})}


def _agent_dict(row):
    return {"id": str(row.id), "client_id": str(row.client_id), "email": row.email, "name": row.name,
            "role": row.role, "active": row.active,
            "notify": {"customer_messages": row.notify_customer_messages, "assignments": row.notify_assignments}}


def client_by_slug(session, slug):
    row = session.scalars(sa.select(DirectoryClient).where(DirectoryClient.slug == (slug or "").lower())).first()
    return _client_dict(row) if row else None


def client_by_id(session, client_id):
    row = session.get(DirectoryClient, client_id)
    return _client_dict(row) if row else None


def _active_agents(client_id):
    return (sa.select(DirectoryAgent)
            .where(DirectoryAgent.client_id == client_id, DirectoryAgent.active)
            .order_by(DirectoryAgent.email))


def agents_to_notify(session, client_id, kind, assignee=None):
    """The active agents of a client who want e-mails of `kind` ("customer_messages" or "assignments").

    With an `assignee` (an e-mail, as tickets' assigned_to holds it) only that agent, if they are one
    of the client's active agents and want it; "assignments" without an assignee concerns nobody.
    """
    if kind not in AGENT_NOTIFY_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AGENT_NOTIFY_KINDS)}")
    column = DirectoryAgent.notify_customer_messages if kind == "customer_messages" else DirectoryAgent.notify_assignments
    query = _active_agents(client_id).where(column)
    if assignee:
        query = query.where(DirectoryAgent.email == assignee.strip().lower())
    elif kind == "assignments":
        return []
    return [_agent_dict(row) for row in session.scalars(query)]


def admins(session, client_id):
    """The active admins of a client (who hear of what concerns nobody in particular)."""
    return [_agent_dict(row) for row in session.scalars(_active_agents(client_id).where(DirectoryAgent.role == "admin"))]


def agent_by_email(session, email):
    """The agent with this e-mail (case-insensitive), active or not; None if unknown."""
    row = session.scalars(
        sa.select(DirectoryAgent).where(DirectoryAgent.email == (email or "").strip().lower())
        .order_by(DirectoryAgent.active.desc())
    ).first()
    return _agent_dict(row) if row else None
