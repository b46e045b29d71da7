"""marshmallow building blocks every service validates input with (and describes a listing's page
with), and the one way to load."""
from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from shared.contracts.exceptions import ValidationError

EMAIL_MAX = 254


def _no_nul(value):
    # PostgreSQL text cannot hold NUL: say so instead of failing in the database.
    if "\x00" in value:
        raise SchemaError("Must not contain NUL characters.")


class Text(fields.String):
    """A string with surrounding white space removed, never holding NUL; an optional one left blank
    becomes null."""

    def __init__(self, *args, validate=None, **kwargs):
        validators = [validate] if callable(validate) else list(validate or [])
        super().__init__(*args, validate=[*validators, _no_nul], **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if self.allow_none and isinstance(value, str) and not value.strip():
            value = None
        return super().deserialize(value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def required_text(max_length, **kwargs):
    return Text(
        required=True,
        validate=[validate.Length(min=1, error="Must not be blank."), validate.Length(max=max_length)],
        **kwargs,
    )


def optional_text(max_length, **kwargs):
    return Text(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


def email(required=False):
    return Text(
        required=required, allow_none=not required,
        validate=[validate.Length(max=EMAIL_MAX), validate.Email(error="Not a valid email address.")],
    )


def load(schema, data, **kwargs):
    """Validate with a marshmallow schema; raise the typed error that crosses RPC."""
    try:
        return schema.load(data, **kwargs)
    except SchemaError as exc:
        raise ValidationError(exc.messages) from None


class PageSchema(Schema):
    """A listing's envelope: one page of `items` (declared by each listing), the count of all, which page, its size."""

    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
