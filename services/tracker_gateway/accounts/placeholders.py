"""Canned replies' placeholders: `{{customer_name}}`, `{{ticket_number}}`, `{{agent_name}}`,
`{{tracking_link}}` (spaces inside the braces allowed). Rules with no database: checked when a
reply is saved (an unknown name is an error then, never a blank at sending), filled in one pass
when it is used (a value that itself looks like a placeholder stays as written), HTML-escaped for
an HTML part.
"""
import html
import re

from marshmallow import ValidationError

NAMES = ("customer_name", "ticket_number", "agent_name", "tracking_link")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# A value shown where the ticket has none (a ticket without customer details).
MISSING = {"customer_name": "there", "tracking_link": "", "ticket_number": "", "agent_name": ""}


def validate(body):
    """Raise ValidationError({"body": [...]}) for an unknown placeholder or a stray brace pair."""
    errors = []
    unknown = sorted({name for name in PLACEHOLDER.findall(body) if name not in NAMES})
    if unknown:
        known = ", ".join("{{%s}}" % name for name in NAMES)
        errors.append(f"Unknown placeholder{'s' if len(unknown) > 1 else ''} "
                      f"{', '.join('{{%s}}' % name for name in unknown)}: use {known}.")
    rest = PLACEHOLDER.sub("", body)
    if "{{" in rest or "}}" in rest:
        errors.append("A placeholder is not closed: write {{name}}.")
    if errors:
        raise ValidationError({"body": errors})


def render(body, values, escape=False):
    """`body` with each placeholder replaced by its value, in one pass (a value is never read for
    placeholders); `escape=True` gives the HTML form: the text and the values escaped, once."""
    keep = html.escape if escape else str
    parts, last = [], 0
    for match in PLACEHOLDER.finditer(body):
        name = match.group(1)
        value = values.get(name)
        parts += [keep(body[last:match.start()]), keep(MISSING.get(name, "") if value in (None, "") else str(value))]
        last = match.end()
    parts.append(keep(body[last:]))
    return "".join(parts)
