"""The console's count of unanswered chats (static/console/nav.js), in Chromium: on the Tickets page
as on Chats, live when a customer writes and when an agent answers, and in the page title."""
import re

import requests
from playwright.sync_api import expect

from tests.chat_web.browser.test_chatweb_browser import LIVE_MS, start_chat, two_pages  # noqa: F401 (a fixture)
from tests.fixtures.chat_web import CUSTOMER, public_api
from tests.fixtures.ui import AgentApi, sign_in


def test_the_unanswered_chats_count_follows_customers_and_answers_on_every_page(two_pages, ui_stack, chat_tenant):
    customer, agent = two_pages
    sign_in(agent, ui_stack, chat_tenant.tenant.ann)  # the Tickets page
    badge = agent.locator('[data-nav-badge="chats"]')
    expect(badge).to_be_hidden()
    expect(agent).to_have_title("Tickets · Deskline")

    start_chat(customer, ui_stack, chat_tenant, "Hello, my printer is on fire.")
    expect(badge).to_have_text("1", timeout=LIVE_MS)
    expect(agent).to_have_title("(1) Tickets · Deskline")
    # A second customer, from another browser (over HTTP: only the count matters here).
    started = requests.post(ui_stack.url(f"{public_api(chat_tenant.slug)}/conversations"),
                            json={**CUSTOMER, "message": "Is anyone there?"}, timeout=10)
    assert started.status_code == 201, started.text
    expect(badge).to_have_text("2", timeout=LIVE_MS)
    expect(badge).to_have_attribute("title", "2 chats waiting for an answer")
    expect(agent).to_have_title("(2) Tickets · Deskline")

    # Ben answers one over the API: the count goes down on Ann's page without a reload.
    ben = AgentApi(ui_stack, chat_tenant.tenant.ben)
    waiting = started.json()["conversation"]["id"]
    answered = ben.http.post(ui_stack.url(f"/api/chat/conversations/{waiting}/messages"),
                             json={"body": "Yes, how can I help?"}, timeout=10)
    assert answered.status_code == 201, answered.text
    expect(badge).to_have_text("1", timeout=LIVE_MS)
    expect(agent).to_have_title("(1) Tickets · Deskline")

    # The same count on the Chats page; reading the last chat there clears it.
    agent.click('[data-nav="chats"]')
    expect(badge).to_have_text("1")
    expect(agent).to_have_title("(1) Chats · Deskline")
    agent.locator(".conv-row", has_text="printer").click()
    expect(badge).to_be_hidden(timeout=LIVE_MS)
    expect(agent).to_have_title(re.compile(r"^Chats"))
