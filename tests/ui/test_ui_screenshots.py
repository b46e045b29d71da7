"""Screenshots for the README (docs/screenshots/), taken at the issue's two sizes: a 1280x800 laptop
and a phone. The checks are on the DOM (fonts differ between machines: no pixel comparison)."""
import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import SCREENSHOTS, sign_in

pytestmark = pytest.mark.browser

SEED = [
    dict(title="Webhook deliveries delayed by several minutes", priority="urgent", category="technical",
         customer_name="Lena Fischer", customer_email="lena@northwind.example",
         description="Since this morning our order webhooks arrive 5 to 10 minutes late. Nothing changed on our side."),
    dict(title="Add dark mode to the customer portal", priority="low", category="feature_request", status="pending",
         customer_name="Tom Okafor", customer_email="tom@brightlabs.example",
         description="Several of our staff work night shifts and would love a dark theme."),
    dict(title="Refund for a duplicate charge", priority="high", category="billing", status="resolved",
         customer_name="Ravi Patel", customer_email="ravi@patel-legal.example",
         description="We were charged twice for the October invoice (INV-2291)."),
    dict(title="Invoice shows the wrong VAT number", priority="medium", category="billing", status="in_progress",
         customer_name="Sofia Rossi", customer_email="sofia@rossi-design.example",
         description="The VAT number on invoice INV-2310 is our old one; please reissue it."),
    dict(title="Export to CSV times out on large reports", priority="high", category="technical",
         customer_name="Kira Nakamura", customer_email="kira@example.com",
         description="Exporting the yearly report (about 80,000 rows) fails after 30 seconds with a gateway timeout."),
    dict(title="Cannot log in after password reset", priority="urgent", category="account",
         customer_name="kirav9", customer_email="kiran1@gmail.com",
         description="I reset my password twice and the new one is still refused. I need access for a demo at 3 pm today."),
]


def seed(ben_api, ui_tenant):
    made = [ben_api.create(**fields) for fields in SEED]
    ben_api.update(made[3]["id"], assigned_to=ui_tenant.ben.email)
    ben_api.update(made[4]["id"], assigned_to=ui_tenant.ann.email)
    return made


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Finite animations (a row's "just changed" glow, toasts) end at once: the picture shows the page at rest.
    page.screenshot(path=SCREENSHOTS / name, animations="disabled")


def no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_screenshots_of_the_list_and_the_detail_panel(signed_in, ben_api, ui_tenant):
    page = signed_in
    made = seed(ben_api, ui_tenant)
    expect(page.locator(".ticket-row")).to_have_count(len(SEED), timeout=5000)
    page.mouse.move(0, 0)
    shoot(page, "tickets-list.png")

    focus = made[-1]
    page.locator(f'.ticket-row[data-number="{focus["ticket_number"]}"]').click()
    expect(page.locator("#p-save")).to_be_enabled()
    page.select_option("#p-f-status", "in_progress")
    page.select_option("#p-f-assigned_to", ui_tenant.ann.email)
    page.click("#p-save")
    expect(page.locator("#p-saved")).to_contain_text("Status: Open → In progress")
    expect(page.locator("#p-timeline li").filter(has_text="E-mail “Ticket updated”")).to_have_count(1, timeout=10_000)
    shoot(page, "tickets-detail.png")
    page.locator("#p-timeline").scroll_into_view_if_needed()
    shoot(page, "tickets-detail-timeline.png")
    assert no_sideways_scroll(page)


def test_screenshots_on_a_phone(browser, browser_context_args, ui_stack, ui_tenant, ben_api):
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 390, "height": 844},
                                     "is_mobile": True, "has_touch": True, "device_scale_factor": 2})
    try:
        page = sign_in(context.new_page(), ui_stack, ui_tenant.ann)
        made = seed(ben_api, ui_tenant)
        expect(page.locator(".ticket-row")).to_have_count(len(SEED), timeout=5000)
        expect(page.locator("#f-status")).to_be_hidden()  # filters fold away behind a button
        page.click("#filters-toggle")
        expect(page.locator("#f-status")).to_be_visible()
        page.click("#filters-toggle")
        assert no_sideways_scroll(page)
        shoot(page, "tickets-phone-list.png")

        page.locator(f'.ticket-row[data-number="{made[-1]["ticket_number"]}"]').click()
        expect(page.locator("#p-save")).to_be_enabled()
        expect(page.locator("#panel")).to_be_in_viewport()
        assert no_sideways_scroll(page)
        shoot(page, "tickets-phone-detail.png")
        page.click("#p-close")
        expect(page.locator("#panel")).to_be_hidden()
    finally:
        context.close()
