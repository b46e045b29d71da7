"""The public forms' fields (marshmallow): the web form's and the tracker reply's, and their errors
as one sentence per field for the page to show next to it."""
import re

from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from shared.contracts.enums import TICKET_CATEGORIES
from shared.contracts.schemas import Text, email, required_text
from shared.contracts.ticket_schemas import TEXT_MAX, TITLE_MAX

# One per form render: a double submit (a second click, a reload of the result) makes one ticket or message.
FORM_ID = re.compile(r"[0-9a-f]{32}")
CATEGORY_LABELS = {category: category.replace("_", " ").capitalize() for category in TICKET_CATEGORIES}


class _FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token, the honeypot, the submit button

    form_id = fields.String(required=True, validate=validate.Regexp(
        FORM_ID, error="This form has expired. Check what you wrote and send it again."))


class SupportFormSchema(_FormSchema):
    name = required_text(200)
    email = email(required=True)
    subject = required_text(TITLE_MAX)
    description = required_text(TEXT_MAX)
    category = fields.String(load_default="general", validate=validate.OneOf(TICKET_CATEGORIES))


class TrackerReplySchema(_FormSchema):
    # May be empty when files are attached (checked with them: public/tracker_thread.py).
    body = Text(load_default="", validate=validate.Length(max=TEXT_MAX))


SUPPORT_FORM = SupportFormSchema()
TRACKER_REPLY = TrackerReplySchema()

_SENTENCES = {
    "Missing data for required field.": "Please fill this in.",
    "Must not be blank.": "Please fill this in.",
    "Not a valid email address.": "Enter an e-mail address like name@example.com.",
}
_FORM_ID_SENTENCES = {"Missing data for required field.": "This form has expired. Check what you wrote and send it again."}


def load(schema, form):
    """(values, None) or (None, {field: sentence})."""
    try:
        return schema.load(form.to_dict()), None
    except SchemaError as exc:
        errors = {}
        for field, messages in exc.messages.items():
            message = messages[0] if isinstance(messages, list) and messages else str(messages)
            errors[field] = (_FORM_ID_SENTENCES if field == "form_id" else _SENTENCES).get(message, message)
        return None, errors
