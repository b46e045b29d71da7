"""The customer's chat page in Chromium with its replies pushed: an agent's reply shows without a
single poll while the stream is open, and when the stream is refused the page polls as before."""
import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.chat_web import public_api
from tests.fixtures.ui import AgentApi

LIVE_MS = 2000
POLL = re.compile(r"/api/public/chat/[^/]+/conversation(\?|$)")


@pytest.fixture
def customer(page):
    """The customer's page, with every request it makes recorded."""
    page.requests, page.finished = [], []
    page.on("request", lambda request: page.requests.append((request.method, request.url)))
    page.on("requestfinished", lambda request: page.finished.append((request.method, request.url)))
    page.on("requestfailed", lambda request: page.finished.append((request.method, request.url)))
    return page


def start(page, stack, chat_tenant, message):
    page.goto(stack.url(chat_tenant.page))
    page.fill("#start-name", "Kira Nakamura")
    page.fill("#start-email", "kira@example.com")
    page.fill("#start-message", message)
    page.click("#start-submit")
    expect(page.locator("#messages .msg-customer .body")).to_have_text([message])


def agent_reply(stack, chat_tenant, body):
    ben = AgentApi(stack, chat_tenant.tenant.ben)
    conversation = ben.get("/api/chat/conversations?status=open").json()["items"][0]
    posted = ben.http.post(stack.url(f"/api/chat/conversations/{conversation['id']}/messages"), json={"body": body},
                           timeout=10)
    assert posted.status_code == 201, posted.text


def polls(page, requests=None):
    return [url for method, url in (page.requests if requests is None else requests)
            if method == "GET" and POLL.search(url)]


def wait_for_polls_to_land(page, timeout_ms=5000):
    """Until the page's polls so far (at least the catch-up after `ready`) have all been answered."""
    waited = 0
    while not (polls(page) and len(polls(page, page.finished)) == len(polls(page))):
        assert waited < timeout_ms, f"polls still out: {polls(page)}"
        page.wait_for_timeout(50)  # lets the page's events run; the loop waits on the condition
        waited += 50


def test_the_customer_sees_an_agents_reply_pushed_without_polling(customer, ui_stack, chat_tenant):
    start(customer, ui_stack, chat_tenant, "Is my order on its way?")
    chat = customer.locator("#chat")
    expect(chat).to_have_attribute("data-transport", "stream", timeout=10_000)
    streams = [url for method, url in customer.requests if url.startswith(ui_stack.chat_streams.url)]
    assert streams, "the page opened no stream at the stream server"
    # The one catch-up after the stream said `ready` may still be on its way: let it land first.
    wait_for_polls_to_land(customer)
    before = len(polls(customer))

    agent_reply(ui_stack, chat_tenant, "Yes: it ships today.")
    expect(customer.locator("#messages .msg-agent .body")).to_have_text(["Yes: it ships today."], timeout=LIVE_MS)
    # Another reply a little later: still nothing asked for it.
    agent_reply(ui_stack, chat_tenant, "Tracking number to follow.")
    expect(customer.locator("#messages .msg-agent .body")).to_have_text(
        ["Yes: it ships today.", "Tracking number to follow."], timeout=LIVE_MS)
    assert polls(customer)[before:] == []
    expect(chat).to_have_attribute("data-transport", "stream")


def test_the_page_polls_when_the_stream_is_refused(customer, ui_stack, chat_tenant):
    # The stream server refuses every stream (as a full or unreachable one would): the page polls.
    customer.route(f"{ui_stack.chat_streams.url}/**", lambda route: route.fulfill(status=503, body="full"))
    start(customer, ui_stack, chat_tenant, "Anyone there?")
    chat = customer.locator("#chat")
    expect(chat).to_have_attribute("data-transport", "poll")

    agent_reply(ui_stack, chat_tenant, "Here I am.")
    expect(customer.locator("#messages .msg-agent .body")).to_have_text(["Here I am."], timeout=LIVE_MS + 1000)
    assert polls(customer), "the reply came without a poll, yet no stream was open"
    assert any(url.endswith(f"{public_api(chat_tenant.slug)}/conversation/stream")
               for method, url in customer.requests if method == "POST")
