"""Canned replies' placeholders and saved views' queries (issue 14): checked at save, filled with escaping."""
import pytest
from marshmallow import ValidationError

from services.tracker_gateway.accounts import placeholders, saved

VALUES = {"customer_name": "Kira", "ticket_number": "TKT-00042", "agent_name": "Ann",
          "tracking_link": "https://desk.example/t/abc"}


@pytest.mark.parametrize("body", [
    "Hi {{customer_name}}, about {{ticket_number}}: {{ agent_name }} here. Track it: {{tracking_link}}",
    "No placeholder at all.", "A single { brace } is text.",
])
def test_known_placeholders_are_accepted(body):
    placeholders.validate(body)


@pytest.mark.parametrize("body, message", [
    ("Hi {{customer}}", "Unknown placeholder {{customer}}: use {{customer_name}}, {{ticket_number}}, {{agent_name}}, {{tracking_link}}."),
    ("{{a}} and {{b}} and {{a}}", "Unknown placeholders {{a}}, {{b}}: use {{customer_name}}, {{ticket_number}}, {{agent_name}}, {{tracking_link}}."),
    ("Hi {{customer_name", "A placeholder is not closed: write {{name}}."),
    ("Hi customer_name}}", "A placeholder is not closed: write {{name}}."),
])
def test_an_unknown_or_broken_placeholder_is_an_error_at_save(body, message):
    with pytest.raises(ValidationError) as error:
        placeholders.validate(body)
    assert message in error.value.messages["body"]


def test_rendering_fills_each_placeholder_once():
    body = "Hi {{customer_name}}, {{ agent_name }} on {{ticket_number}}: {{tracking_link}}"
    assert placeholders.render(body, VALUES) == "Hi Kira, Ann on TKT-00042: https://desk.example/t/abc"
    # A value that looks like a placeholder is not filled in again (one pass).
    assert placeholders.render("Hi {{customer_name}}", {"customer_name": "{{agent_name}}", "agent_name": "x"}) == "Hi {{agent_name}}"
    assert placeholders.render("Hi {{customer_name}}!", {}) == "Hi there!"


def test_rendering_escapes_for_html_and_keeps_text_as_written():
    values = {**VALUES, "customer_name": '<img src=x onerror="alert(1)"> & co'}
    body = "Dear {{customer_name}} <b>"
    assert placeholders.render(body, values) == 'Dear <img src=x onerror="alert(1)"> & co <b>'
    assert placeholders.render(body, values, escape=True) == \
        "Dear &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co &lt;b&gt;"


def test_a_view_keeps_the_lists_filters_and_sort_only():
    assert saved.view_filters("?queue=open&assigned_to=ann%40acme.io&sort=-priority&page=3&ticket=TKT-00001&x=1") == {
        "queue": "open", "assigned_to": "ann@acme.io", "sort": "-priority"}
    with pytest.raises(ValidationError) as error:
        saved.view_filters("status=bogus&sort=sideways")
    assert sorted(error.value.messages["query"]) == [
        "sort: Must be one of: created_at, updated_at, ticket_number, priority, status, title, sla_due_at, -created_at, "
        "-updated_at, -ticket_number, -priority, -status, -title, -sla_due_at.",
        "status: Must be one of: open, in_progress, pending, resolved, closed."]
