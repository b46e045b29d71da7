"""Issue 11, points 5 and 9 in Chromium. A chat the customer leaves before anyone answered stays in
the console's "Missed" list until an agent handles it, and the customer is e-mailed its transcript
with the way back to the chat page. Links in messages are links on both sides, safely (new tab, no
opener, no referrer, only http/https/mailto), and the customer's reply box fits a phone."""
import pytest
from playwright.sync_api import expect

from shared.testing import wait_for
from tests.chat_web.browser import test_chatweb_browser as chat_pages
from tests.chat_web.browser.test_chatweb_browser import CUSTOMER_EMAIL, sign_in_to_chats, start_chat
from tests.ui.test_ui_screenshots import shoot

two_pages = chat_pages.two_pages  # the fixture: a customer's page and an agent's

pytestmark = [pytest.mark.browser]

MESSAGE = ("My order https://shop.example/order/7. never came; javascript:alert(1) "
           "and <a href=\"javascript:alert(2)\">this</a>; write to mailto:help@shop.example")
SAFE_LINKS = ["https://shop.example/order/7", "mailto:help@shop.example"]


def assert_safe_links(page, scope):
    links = page.locator(f"{scope} .body a")
    expect(links).to_have_count(len(SAFE_LINKS))
    for index, href in enumerate(SAFE_LINKS):
        link = links.nth(index)
        expect(link).to_have_attribute("href", href)
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
    assert page.locator(f'{scope} a[href^="javascript:" i]').count() == 0
    expect(page.locator(f"{scope} .body").first).to_contain_text('<a href="javascript:alert(2)">this</a>')


def test_a_chat_left_unanswered_is_missed_until_handled_and_the_customer_gets_the_transcript(
        two_pages, ui_stack, chat_tenant):
    customer, agent = two_pages
    start_chat(customer, ui_stack, chat_tenant, MESSAGE)
    assert_safe_links(customer, "#messages")
    customer.click("#end-chat")
    expect(customer.locator("#closed-note")).to_be_visible()

    sign_in_to_chats(agent, ui_stack, chat_tenant.tenant.ann)
    agent.click("#c-show-missed")
    expect(agent.locator("#c-show-missed")).to_have_attribute("aria-pressed", "true")
    row = agent.locator(".conv-row").filter(has_text="Kira Nakamura")
    expect(row.locator(".missed-badge")).to_have_text("Missed")
    row.click()
    expect(agent.locator("#t-chips .chip-missed")).to_have_text("Missed")
    assert_safe_links(agent, "#t-messages")
    assert agent.dialogs == [] and customer.dialogs == []
    shoot(agent, "chats-missed.png")

    # The customer's e-mail: the transcript, and the page to start a new chat.
    def transcript():
        return [m for m in ui_stack.smtp.received if CUSTOMER_EMAIL in m.rcpt_tos and "missed you" in m.subject]
    mail = wait_for(transcript, timeout=15, message="the transcript e-mail")
    assert len(mail) == 1
    assert "https://shop.example/order/7" in mail[0].part("plain")
    assert f"Start a new chat with us: {ui_stack.url(chat_tenant.page)}" in mail[0].part("plain")

    agent.click("#t-handled")
    expect(agent.locator("#t-handled")).to_be_hidden()
    expect(agent.locator(".conv-row").filter(has_text="Kira Nakamura")).to_have_count(0)
    expect(agent.locator("#c-empty")).to_contain_text("No missed chats")
    # Still in the closed list, no longer marked.
    agent.click("#c-show-closed")
    expect(agent.locator(".conv-row").filter(has_text="Kira Nakamura").locator(".missed-badge")).to_have_count(0)


def test_the_reply_placeholder_fits_a_phone(browser, browser_context_args, ui_stack, chat_tenant):
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 360, "height": 740}})
    page = context.new_page()
    try:
        start_chat(page, ui_stack, chat_tenant, "Hello from a phone")
        box = page.locator("#reply-body")
        expect(box).to_be_visible()
        sizes = box.evaluate("""(box) => {
            const style = getComputedStyle(box);
            const pen = document.createElement("canvas").getContext("2d");
            pen.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            return { text: pen.measureText(box.placeholder).width, right: box.getBoundingClientRect().right,
                     room: box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) };
        }""")
        assert sizes["text"] <= sizes["room"], sizes  # on one line, not cut
        assert sizes["right"] <= 360, sizes
    finally:
        context.close()
