"""The console's CSRF check: the double-submitted token (cookie against header or form field) and the
Origin header, in a request context; and the console's POSTs refusing a failed check before any lookup."""
import pytest

from services.tracker_gateway.console import session
from services.tracker_gateway.core.errors import Forbidden

TOKEN = "k" * 43
COOKIE = f"{session.CSRF_COOKIE}={TOKEN}"


def csrf_ok(app, cookie=COOKIE, header=TOKEN, origin=None, form=None, base_url="http://localhost"):
    headers = {}
    if cookie is not None:
        headers["Cookie"] = cookie
    if header is not None:
        headers[session.CSRF_HEADER] = header
    if origin is not None:
        headers["Origin"] = origin
    with app.test_request_context("/agent/session", method="POST", headers=headers, data=form, base_url=base_url):
        return session.csrf_ok()


def test_the_header_matching_the_cookie_passes(offline_app):
    assert csrf_ok(offline_app)


def test_the_form_field_matching_the_cookie_passes(offline_app):
    assert csrf_ok(offline_app, header=None, form={"csrf_token": TOKEN})


@pytest.mark.parametrize("cookie, header", [
    (None, TOKEN),  # no cookie: nothing to compare with
    (f"{session.CSRF_COOKIE}=", ""),  # an empty cookie does not match an empty header
    (COOKIE, None),  # the page sent no token
    (COOKIE, ""),
    (COOKIE, TOKEN[:-1] + "x"),
    (COOKIE, TOKEN + "k"),
    (f"{session.CSRF_COOKIE}={'j' * 43}", TOKEN),
    ("deskline_session=" + TOKEN, TOKEN),  # another cookie's value is not the CSRF cookie
])
def test_a_missing_or_different_token_fails(offline_app, cookie, header):
    assert not csrf_ok(offline_app, cookie=cookie, header=header)


def test_the_header_wins_over_the_form_field(offline_app):
    assert not csrf_ok(offline_app, header="wrong", form={"csrf_token": TOKEN})


@pytest.mark.parametrize("origin, base_url, passes", [
    ("http://localhost", "http://localhost", True),  # the host the request came to
    ("https://desk.example.com", "http://localhost", True),  # PUBLIC_BASE_URL's origin (behind a proxy)
    ("https://desk.example.com", "http://10.0.0.7:8000", True),
    ("http://desk.example.com", "http://localhost", False),  # another scheme is another origin
    ("https://desk.example.com:8443", "http://localhost", False),  # another port too
    ("https://evil.example", "http://localhost", False),
    ("https://desk.example.com.evil.example", "http://localhost", False),
    ("null", "http://localhost", False),  # sandboxed frames and some redirects send "null"
    ("", "http://localhost", False),
])
def test_an_origin_header_must_be_this_site(offline_app, origin, base_url, passes):
    assert csrf_ok(offline_app, origin=origin, base_url=base_url) is passes


def test_a_right_origin_does_not_stand_in_for_the_token(offline_app):
    assert not csrf_ok(offline_app, header="wrong", origin="https://desk.example.com")


def test_check_csrf_raises_forbidden_with_a_reload_hint(offline_app):
    with offline_app.test_request_context("/agent/logout", method="POST"):
        with pytest.raises(Forbidden, match="reload the page"):
            session.check_csrf()


def test_csrf_token_keeps_a_well_formed_cookie_and_replaces_others(offline_app):
    with offline_app.test_request_context("/agent/login", headers={"Cookie": COOKIE}):
        assert session.csrf_token() == TOKEN
    for bad in ("short", "x" * 65, ""):
        with offline_app.test_request_context("/agent/login", headers={"Cookie": f"{session.CSRF_COOKIE}={bad}"}):
            fresh = session.csrf_token()
            assert fresh != bad and 32 <= len(fresh) <= 64
            assert session.csrf_token() == fresh  # one token per request


@pytest.mark.parametrize("path", ["/agent/session", "/agent/logout"])
def test_console_posts_without_the_token_are_403_before_the_session_is_read(offline_app, path):
    client = offline_app.test_client()
    client.set_cookie(session.CSRF_COOKIE, TOKEN, path="/agent")
    response = client.post(path, headers={session.CSRF_HEADER: "wrong"})
    assert response.status_code == 403 and "reload the page" in response.get_data(as_text=True)
    response = client.post(path, headers={session.CSRF_HEADER: TOKEN, "Origin": "https://evil.example"})
    assert response.status_code == 403


def test_the_login_form_posted_from_elsewhere_shows_the_form_again_with_a_fresh_token(offline_app):
    client = offline_app.test_client()
    response = client.post("/agent/login", data={"email": "ann@acme.example", "password": "x", "csrf_token": "forged"})
    page = response.get_data(as_text=True)
    assert response.status_code == 403 and "The form had expired" in page and 'value="ann@acme.example"' in page
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{session.CSRF_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/agent" in cookie and "Secure" in cookie  # PUBLIC_BASE_URL is https
    assert response.headers["Cache-Control"] == "no-store"
