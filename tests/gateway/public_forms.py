"""Helpers for the tests of the public forms (the web form, the tracker's conversation): filling a
form as a browser does, with the tokens its page carried."""
import html
import io
import re

FORM = "/support/{slug}"
EMAIL = "Kira.Customer@Example.com"


def hidden(page, name):
    """The value of a hidden input of the page (the CSRF token, the form id)."""
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match.group(1))


def files(*items):
    """Multipart file parts for Flask's test client: (name, bytes) pairs."""
    return [(io.BytesIO(data), name) for name, data in items]


def open_form(http, slug):
    page = http.get(FORM.format(slug=slug))
    assert page.status_code == 200, page.data
    text = page.get_data(as_text=True)
    return {"csrf_token": hidden(text, "csrf_token"), "form_id": hidden(text, "form_id")}


def fields(**overrides):
    return {"name": "Kira Nakamura", "email": EMAIL, "subject": "Export times out",
            "description": "The yearly export fails after 30 seconds.", "category": "technical", **overrides}


def submit(http, slug, tokens=None, attachments=(), headers=None, **overrides):
    """POST the web form (a fresh render's tokens unless `tokens`); the response."""
    tokens = open_form(http, slug) if tokens is None else tokens
    data = {**tokens, **fields(**overrides)}
    if attachments:
        data["attachments"] = files(*attachments)
    return http.post(FORM.format(slug=slug), data=data, content_type="multipart/form-data", headers=headers or {})


def ticket_number_in(response):
    match = re.search(r'id="ticket-number">(TKT-\d+)<', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def link_token(page):
    """The signed token a ticket page's reply form posts to."""
    match = re.search(r'action="/track-ticket/([^"/]+)/messages"', page)
    assert match, "no reply form in the page"
    return html.unescape(match.group(1))
