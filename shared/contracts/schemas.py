"""marshmallow building blocks every service validates input with (and describes a listing's page
with), and the one way to load."""

from marshmallow import Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from shared.contracts.exceptions import ValidationError

EMAIL_MAX = 254
_Length = validate.Length


def _no_nul(value):
    # PostgreSQL text cannot hold NUL: say so instead of failing in the database.
    if "\x00" in value:
        raise SchemaError("Must not contain NUL characters.")


# The rules Text applies, as the regular expressions the OpenAPI document publishes (`pattern`), in
# the syntax JSON Schema validators share (ECMA 262, which Python's re reads the same): no NUL, and
# for a text that must not be blank, one character that is not white space as str.strip() sees it
# (tests/unit/shared checks the class against str.isspace).
WHITE_SPACE = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITE_SPACE}][^\u0000]*$"


class Text(fields.String):
    """A string with surrounding white space removed, never holding NUL; an optional one left blank
    becomes null. Its document `pattern` says so (NOT_BLANK when a Length needs a character)."""

    def __init__(self, *args, validate=None, metadata=None, **kwargs):
        validators = [validate] if callable(validate) else list(validate or [])
        metadata = dict(metadata or {})
        if "pattern" not in metadata:
            nonempty = any(isinstance(v, _Length) and (v.min or 0) >= 1 for v in validators)
            metadata["pattern"] = NOT_BLANK if nonempty else NO_NUL
        super().__init__(*args, validate=[*validators, _no_nul], metadata=metadata, **kwargs)

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


# The address rule, one regular expression that validates and is published as the field's
# `pattern` in the OpenAPI document (so the two cannot disagree): local@domain.tld in ASCII, the
# local part of RFC 5322 "atext" and dots (none leading, trailing or doubled), domain labels of
# letters, digits and inner hyphens, a top-level label of two letters or more (EMAIL_MAX bounds the
# whole; no bound per label, which keeps the expression cheap for generators). White space around
# it is allowed (Text strips it); an optional address may also be blank (it becomes null).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL_ADDRESS = rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+[A-Za-z]{{2,}}"
EMAIL_PATTERN = rf"^[{WHITE_SPACE}]*{EMAIL_ADDRESS}[{WHITE_SPACE}]*$"
OPTIONAL_EMAIL_PATTERN = rf"^[{WHITE_SPACE}]*(?:{EMAIL_ADDRESS})?[{WHITE_SPACE}]*$"


def email(required=False):
    return Text(
        required=required, allow_none=not required,
        validate=[validate.Length(max=EMAIL_MAX),
                  validate.Regexp(EMAIL_PATTERN, error="Not a valid email address.")],
        metadata={"pattern": EMAIL_PATTERN if required else OPTIONAL_EMAIL_PATTERN},
    )


# A phone number in E.164: '+', a country code (no leading 0), 15 digits at most in all, nothing between
# the digits (the console's forms drop spaces and dashes before sending). One expression validates and is
# published as the field's `pattern`.
E164 = r"\+[1-9][0-9]{6,14}"
OPTIONAL_PHONE_PATTERN = rf"^[{WHITE_SPACE}]*(?:{E164})?[{WHITE_SPACE}]*$"


def phone():
    """An optional E.164 phone number ('+14155550123'); blank becomes null."""
    # No maxLength: the pattern bounds the number to 16 characters, and a length limit would count the white
    # space around it, which is stripped (the document would call a padded number too long, the API takes it).
    return Text(
        allow_none=True,
        validate=validate.Regexp(OPTIONAL_PHONE_PATTERN, error="Not a valid phone number: use E.164, "
                                 "+ and the country code, digits only (+14155550123)."),
        metadata={"pattern": OPTIONAL_PHONE_PATTERN, "example": "+14155550123"},
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


class StrictBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean also takes 0, 1, "yes", "on"..., which the document's
    `type: boolean` refuses."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
