"""Issue 11, point 9: the sign-in page's first load (no login in this browser) makes no failed request
(the "am I still signed in?" probe answers 204, not 401) and asks for no missing icon."""
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_the_login_page_loads_without_a_failed_request_or_a_missing_icon(page, ui_stack):
    failed = []
    page.on("response", lambda response: failed.append((response.status, response.url)) if response.status >= 400 else None)
    page.on("requestfailed", lambda request: failed.append((request.failure, request.url)))
    page.goto(ui_stack.url("/agent/login"), wait_until="networkidle")
    expect(page.locator("#login-form")).to_be_visible()
    assert failed == []
    assert page.locator('link[rel="icon"]').get_attribute("href").endswith("/favicon.svg")
    # Tools and browsers that ask for /favicon.ico on their own get the icon too.
    icon = page.request.get(ui_stack.url("/favicon.ico"))
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
