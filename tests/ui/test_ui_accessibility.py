"""Keyboard and contrast in Chromium: public pages open with a "Skip to content" link, focused fields,
buttons and links show a ring of at least 3:1 against what surrounds it, the faint and muted text
colours meet WCAG AA (4.5:1), every page loads the one base stylesheet (common/base.css) first and
no other sheet redefines its tokens, and the console's navigation has no dead "coming soon" entry."""
import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import sign_in

pytestmark = pytest.mark.browser

BASE_CSS = "/static/common/base.css"
TOKENS = ("--ink", "--muted", "--faint", "--bg", "--card", "--brand-a", "--brand-b", "--brand-soft", "--focus")


# ------------------------------------------------------------------ colour arithmetic (WCAG 2.x)

def rgb(css):
    """'rgb(79, 70, 229)', 'rgba(…)', '#4f46e5' or '#fff' -> (r, g, b)."""
    css = css.strip()
    if css.startswith("#"):
        digits = css[1:] if len(css) == 7 else "".join(d * 2 for d in css[1:4])
        return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    return tuple(int(float(part)) for part in re.findall(r"[\d.]+", css)[:3])


def luminance(colour):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_arithmetic_matches_known_pairs():
    # Positive controls, so that a broken formula cannot pass the checks below.
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#9ca3af", "#ffffff"), 2) == 2.54  # the old faint colour: fails AA
    assert contrast("rgb(255, 255, 255)", "#fff") == 1


def focus_ring(page):
    """The focused element's outline: (style, width in px, colour)."""
    return page.evaluate("""() => {
        const style = getComputedStyle(document.activeElement);
        return [style.outlineStyle, parseFloat(style.outlineWidth), style.outlineColor];
    }""")


def assert_visible_ring(page, *backgrounds):
    style, width, colour = focus_ring(page)
    assert style != "none" and width >= 2, (style, width)
    for background in backgrounds:
        assert contrast(colour, background) >= 3, (colour, background, contrast(colour, background))


def token(page, name):
    return page.evaluate("(name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()", name)


# ------------------------------------------------------------------ public pages: skip link and focus rings

def test_tab_from_the_top_reaches_the_skip_link_then_fields_buttons_and_links_show_a_ring(page, ui_stack):
    page.goto(ui_stack.url("/track-ticket"))
    skip = page.locator(".skip-link")
    expect(skip).not_to_be_in_viewport()  # out of sight until a keyboard reaches it

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("Skip to content")
    expect(skip).to_be_in_viewport()
    # Over the header's gradient the ring is white: visible against both of its ends.
    assert_visible_ring(page, token(page, "--brand-a"), token(page, "--brand-b"))

    page.keyboard.press("Tab")
    expect(page.locator(".site-header .brand")).to_be_focused()
    assert_visible_ring(page, token(page, "--brand-a"), token(page, "--brand-b"))

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#ticket")).to_be_focused()  # the header is skipped
    card = page.locator(".card").evaluate("(node) => getComputedStyle(node).backgroundColor")
    assert_visible_ring(page, card)

    page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Search ticket")).to_be_focused()
    assert_visible_ring(page, card)

    # A click puts the ring on a field too (the caret alone is easy to miss).
    page.click("#email")
    assert_visible_ring(page, card)

    # The other way in follows, in the same card: "e-mail me a link".
    page.click("#link-ticket")
    page.keyboard.press("Tab")
    expect(page.locator("#link-email")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="E-mail me a link")).to_be_focused()
    assert_visible_ring(page, card)


@pytest.mark.parametrize("path", ["/track-ticket", "/api/docs", "/no-such-page", "CHAT"])
def test_every_public_page_starts_with_the_skip_link(page, ui_stack, chat_tenant, path):
    response = page.goto(ui_stack.url(chat_tenant.page if path == "CHAT" else path))
    assert response.status == (404 if path == "/no-such-page" else 200)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    expect(page.locator(".skip-link")).to_have_attribute("href", "#main")
    expect(page.locator("main#main")).to_have_count(1)


# ------------------------------------------------------------------ one base stylesheet, AA text colours

def assert_base_css_first(page):
    sheets = page.evaluate("""() => [...document.styleSheets].map((sheet) => ({
        href: sheet.href,
        rules: sheet.cssRules.length,
        // Does this sheet set any design token on :root?
        tokens: [...sheet.cssRules].filter((rule) => rule.selectorText === ":root")
                                   .flatMap((rule) => [...rule.style].filter((name) => name.startsWith("--"))),
    }))""")
    assert sheets and sheets[0]["href"].endswith(BASE_CSS), [s["href"] for s in sheets]
    assert sheets[0]["rules"] > 20  # loaded, not a 404 page
    assert set(TOKENS) <= set(sheets[0]["tokens"])
    for other in sheets[1:]:
        assert not set(other["tokens"]) & set(TOKENS), (other["href"], other["tokens"])
    return sheets


def assert_text_colours_meet_aa(page):
    backgrounds = [token(page, name) for name in ("--card", "--bg", "--brand-soft")]
    for name in ("--faint", "--muted", "--ink"):
        for background in backgrounds:
            assert contrast(token(page, name), background) >= 4.5, (name, token(page, name), background)


def test_every_page_loads_the_one_base_stylesheet_first(browser, browser_context_args, ui_stack, chat_tenant):
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        for path in ("/track-ticket", "/api/docs", "/no-such-page", chat_tenant.page, "/agent/login",
                     "/agent/forgot-password", "/agent/reset-password/no-such-link"):
            page.goto(ui_stack.url(path))
            assert_base_css_first(page)
        assert_text_colours_meet_aa(page)

        sign_in(page, ui_stack, chat_tenant.tenant.ann)
        for path in ("/agent/tickets", "/agent/chats", "/agent/reports", "/agent/team", "/agent/profile"):
            page.goto(ui_stack.url(path))
            assert_base_css_first(page)
            assert_text_colours_meet_aa(page)
    finally:
        context.close()


# ------------------------------------------------------------------ the console's navigation

def test_no_console_page_shows_a_coming_soon_item(signed_in, ui_stack):
    page = signed_in
    for path in ("/agent/tickets", "/agent/chats", "/agent/reports", "/agent/sla", "/agent/team", "/agent/webhooks",
                 "/agent/profile"):
        page.goto(ui_stack.url(path))
        nav = page.locator("nav.mainnav")
        # Ann is an admin: SLA, Team and Webhooks are hers too (tests/ui/test_ui_team.py: an agent has no Team entry).
        expect(nav.locator("li")).to_have_count(6)
        expect(nav.locator("li > a[href]")).to_have_count(6)  # every entry a working link
        expect(nav.locator("a")).to_have_text(["Tickets", "Chats", "Reports", "SLA", "Team", "Webhooks"])
        expect(nav.locator('[aria-disabled="true"], .nav-soon')).to_have_count(0)
        expect(page.get_by_text(re.compile("coming soon", re.I))).to_have_count(0)
        expect(page.locator('[title="Coming soon" i]')).to_have_count(0)


def test_the_tracker_offers_a_link_by_email_and_answers_without_telling(page, ui_stack):
    page.goto(ui_stack.url("/track-ticket"))
    page.fill("#link-ticket", "TKT-99999")
    page.fill("#link-email", "nobody@example.com")
    page.get_by_role("button", name="E-mail me a link").click()
    expect(page.get_by_role("status")).to_have_text(
        "If this number and address match a ticket, we have sent a link to that address.")
