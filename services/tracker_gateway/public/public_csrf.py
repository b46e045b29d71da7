"""CSRF protection for the public forms that change something: the web form (public/support.py) and
the tracker's reply (public/tracker_thread.py).

As the console's cookie forms do (console/session.py): a double-submit token, the page's hidden
`csrf_token` field matching an HttpOnly, SameSite=Strict cookie the page set, plus a same-origin
`Origin` (or `Sec-Fetch-Site`) header when the browser sends one. A cookie of its own (not the console's, which is limited
to /agent), set only by the pages that carry such a form: the tracker's answers for a miss set no
cookie, so they stay identical to each other.
"""
import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request

from services.tracker_gateway.core.errors import Forbidden

COOKIE = "deskline_public_csrf"
FIELD = "csrf_token"
COOKIE_SECONDS = 7 * 86400
EXPIRED_MESSAGE = "This form has expired or came from another site. Reload the page and send it again."


def token():
    """This browser's token: the cookie's (if it has the shape of ours), or a new one that `remember`
    sets with the page; one per request."""
    held = request.cookies.get(COOKIE, "")
    return g.setdefault("public_csrf", held if 32 <= len(held) <= 64 else secrets.token_urlsafe(32))


def remember(response):
    """Set the cookie on a page whose form carries `token()` (if the browser does not hold it yet)."""
    value = token()
    if request.cookies.get(COOKIE) != value:
        response.set_cookie(COOKIE, value, max_age=COOKIE_SECONDS, path="/", httponly=True, samesite="Strict",
                            secure=current_app.config["PUBLIC_BASE_URL"].startswith("https://"))
    return response


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _same_origin():
    """Whether the browser says the form came from our own pages (or says nothing: the token decides).

    These pages send no Referer (`Referrer-Policy: no-referrer`), for which Chromium sends `Origin:
    null` with a form's POST: then the Fetch Metadata header `Sec-Fetch-Site` tells instead."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin in {_origin(request.host_url), _origin(current_app.config["PUBLIC_BASE_URL"])}
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def check(form):
    """Forbidden (403) unless the form's token matches the cookie and the request is not cross-site."""
    cookie = request.cookies.get(COOKIE, "")
    sent = form.get(FIELD, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()) or not _same_origin():
        raise Forbidden(EXPIRED_MESSAGE)
