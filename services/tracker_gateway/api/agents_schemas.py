"""Request and response formats of the team API (/api/agents): they validate requests and describe
them in the OpenAPI document."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.tracker_gateway.accounts.models import ROLES
from shared.contracts.schemas import EMAIL_MAX, required_text


class AgentInviteSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL_MAX),
                         metadata={"example": "sam@example.com"})
    name = required_text(200, metadata={"example": "Sam Rivera"})
    role = fields.String(load_default="agent", validate=validate.OneOf(ROLES))


class AgentChangeSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean(metadata={"description": "false deactivates: every session and token stops at once"})

    @validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give role or active.", "_body")


class TeamAgentSchema(Schema):
    id = fields.String()
    email = fields.String()
    name = fields.String(metadata={"description": "the display name the agent chose, else the name given"})
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    status = fields.String(validate=validate.OneOf(("active", "invited", "deactivated")),
                           metadata={"description": "invited: has not accepted the invitation yet"})
    last_seen_at = fields.String(allow_none=True, metadata={"description": "last sign-in or console visit (ISO)"})
    invited_at = fields.String(allow_none=True)
    created_at = fields.String(allow_none=True)


class TeamSchema(Schema):
    items = fields.List(fields.Nested(TeamAgentSchema))


class InvitationSchema(Schema):
    sent = fields.Boolean(metadata={"description": "false: the e-mail could not be handed to the notifier now; "
                                                   "send it again with POST /api/agents/{agent_id}/invitation"})
    expires_at = fields.String()


class InvitedAgentSchema(TeamAgentSchema):
    invitation = fields.Nested(InvitationSchema)


class ConflictSchema(Schema):
    error = fields.String(metadata={"example": "conflict"})
    message = fields.String(metadata={"example": "You cannot deactivate the last active admin: make another "
                                                 "agent an admin first."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


INVITE = AgentInviteSchema()
CHANGE = AgentChangeSchema()
