"""The console's Webhooks page in Chromium, against the running webhooks process and a real receiver:
an admin adds a webhook (its secret shown once), sends a test event and reads the delivery (status in
words, HTTP status, latency), sends a failed one again, switches the webhook off; a bad URL is refused on
its field; an agent has no Webhooks entry and gets a page saying it is not theirs. Screenshot in docs/."""
import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import sign_in
from tests.fixtures.webhooks import Receiver
from tests.ui.test_ui_screenshots import shoot

pytestmark = pytest.mark.browser


@pytest.fixture
def hook():
    made = Receiver().start()
    yield made
    made.stop()


def test_an_admin_adds_a_webhook_tests_it_and_reads_its_deliveries(signed_in, ui_stack, hook):
    page = signed_in
    page.click('a[data-nav="webhooks"]')
    expect(page).to_have_url(ui_stack.url("/agent/webhooks"))
    expect(page.locator("#webhooks-empty")).to_be_visible()

    page.fill("#wh-url", "ftp://hooks.example.com/x")
    page.click("#wh-create")
    expect(page.locator("#wh-url-error")).to_contain_text("http or https")
    expect(page.locator("#wh-url")).to_have_attribute("aria-invalid", "true")

    page.fill("#wh-url", hook.url)
    page.check('input[name="events"][value="chat.*"]')
    page.click("#wh-create")
    secret = page.locator("#secret-value")
    expect(secret).to_have_text(re.compile(r"^whsec_\S{20,}$"))
    card = page.locator(".webhook-card")
    expect(card).to_have_count(1)
    expect(card.locator(".webhook-url")).to_have_text(hook.url)
    expect(card.locator(".webhook-meta")).to_contain_text("Events: ticket.*, chat.*")
    expect(card.locator(".webhook-meta")).to_contain_text(f"secret …{secret.text_content()[-4:]}")

    card.locator('[data-action="test"]').click()
    row = card.locator(".deliveries-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("[data-status]")).to_have_text("✓ Delivered")
    expect(row).to_contain_text("webhook.test")
    expect(row).to_contain_text("HTTP 200")
    expect(row).to_contain_text(re.compile(r"\d+ ms"))
    assert hook.requests[0]["headers"]["Deskline-Event"] == "webhook.test"

    hook.answer(500, body=b"receiver is down for maintenance")
    row.locator("[data-retry]").click()
    expect(row.locator("[data-status]")).to_have_text("↻ Retrying")
    expect(row).to_contain_text("HTTP 500")
    expect(row.locator(".excerpt")).to_have_text("receiver is down for maintenance")
    assert len(hook.requests) == 2 and hook.requests[1]["headers"]["Deskline-Delivery"] == \
        hook.requests[0]["headers"]["Deskline-Delivery"]
    shoot(page, "webhooks.png")

    page.click("#secret-done")
    expect(page.locator("#secret-box")).to_be_hidden()
    card.locator('[data-action="toggle"]').click()
    expect(card.locator(".wh-off")).to_have_text("○ Off")
    page.reload()
    expect(page.locator(".webhook-card .wh-off")).to_have_text("○ Off")
    expect(page.locator("#secret-value")).to_have_text("")  # never shown again


def test_an_agent_has_no_webhooks_page(page, ui_stack, ui_tenant):
    sign_in(page, ui_stack, ui_tenant.ben)
    expect(page.locator('a[data-nav="webhooks"]')).to_have_count(0)
    response = page.goto(ui_stack.url("/agent/webhooks"))
    assert response.status == 403
    expect(page.locator("#webhooks-forbidden")).to_contain_text("Only an admin")
    expect(page.locator("#webhook-form")).to_have_count(0)
