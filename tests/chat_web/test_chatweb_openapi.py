"""Every chat answer against the OpenAPI document: a customer and an agent go through every chat
endpoint with the real chat and tickets services behind the gateway, and each response's status is
documented for its operation and its body matches that status's schema exactly (no key missing,
none undocumented, types as documented)."""
import uuid

from shared.testing import wait_for
from tests.fixtures.chat_web import CUSTOMER, public_api, token_header
from tests.fixtures.openapi import DocumentedCalls, assert_documented

AGENT_API = "/api/chat/conversations"


def test_every_chat_answer_matches_its_documented_schema(http, gateway_app, acme, tenants):
    call = DocumentedCalls(http, gateway_app.extensions["openapi"])

    public = public_api("acme")
    # A conversation without a first message: no last message (null), no messages.
    empty = call("POST", f"{public}/conversations", 201, json=CUSTOMER)
    assert empty["conversation"]["last_message"] is None and empty["messages"] == []

    started = call("POST", f"{public}/conversations", 201, json={**CUSTOMER, "message": "Hello?"})
    token = token_header(started["token"])
    conversation_id = started["conversation"]["id"]
    call("GET", f"{public}/conversation", 200, headers=token)
    posted = call("POST", f"{public}/conversation/messages", 201, json={"body": "Anyone there?"}, headers=token)
    call("POST", f"{public}/conversation/read", 200, json={"up_to": posted["id"]}, headers=token)
    where = call("POST", f"{public}/conversation/stream", 200, headers=token)
    assert where["url"].endswith(f"{public}/stream") and where["ticket"] and where["expires_in"] == 60

    thread = f"{AGENT_API}/{conversation_id}"
    listed = call("GET", AGENT_API, 200, headers=acme)
    assert listed["items"][0]["last_message"]["preview"] == "Anyone there?"
    call("GET", thread, 200, headers=acme, query_string={"limit": 1})
    reply = call("POST", f"{thread}/messages", 201, json={"body": "Yes, hello."}, headers=acme)
    call("POST", f"{thread}/read", 200, json={"up_to": reply["id"]}, headers=acme)
    assigned = call("POST", f"{thread}/assign", 200, json={"agent": tenants[0].email}, headers=acme)
    assert assigned["assigned_to"] == tenants[0].email
    draft = call("GET", f"{thread}/ticket-draft", 200, headers=acme)
    call("POST", f"{thread}/ticket", 201, json={"title": draft["title"], "description": draft["description"]},
         headers=acme)
    # Linked on ticket.created: the conversation now carries a ticket number, on both sides.
    wait_for(lambda: http.get(thread, headers=acme).get_json()["conversation"]["ticket_numbers"],
             timeout=10, message="the ticket link")
    call("GET", thread, 200, headers=acme)
    call("GET", f"{public}/conversation", 200, headers=token)
    closed = call("POST", f"{thread}/close", 200, headers=acme)
    assert closed["closed_at"] and closed["closed_by"] == tenants[0].email

    # Error answers have their documented bodies too.
    call("POST", f"{public}/conversation/messages", 409, json={"body": "Still there?"}, headers=token)
    call("POST", f"{thread}/messages", 409, json={"body": "Reopen?"}, headers=acme)
    call("POST", f"{public}/conversation/close", 200, headers=token)
    call("GET", f"{public}/conversation", 404, headers=token_header("not-a-token"))
    call("POST", f"{public}/conversation/stream", 404, headers=token_header("not-a-token"))
    call("POST", f"{public}/conversations", 422, json={"customer_email": "nope"})
    call("GET", f"{AGENT_API}/{uuid.uuid4()}", 404, headers=acme)
    call("POST", f"{thread}/assign", 422, json={"agent": "nobody@example.com"}, headers=acme)
    call("GET", AGENT_API, 401)

    # Issue 11, point 5: the customer leaves the empty chat unanswered: missed, listed, handled.
    call("POST", f"{public}/conversation/close", 200, headers=token_header(empty["token"]))
    missed = call("GET", AGENT_API, 200, headers=acme, query_string={"missed": "true"})
    assert [item["id"] for item in missed["items"]] == [empty["conversation"]["id"]] and missed["items"][0]["missed_at"]
    handled = call("POST", f"{AGENT_API}/{empty['conversation']['id']}/handled", 200, headers=acme)
    assert handled["handled_by"] == tenants[0].email and handled["handled_at"]
    assert call("GET", AGENT_API, 200, headers=acme, query_string={"missed": "true"})["items"] == []

    # Every chat operation was called.
    assert call.seen == call.operations(lambda path: "/chat/" in path)

def test_throttled_public_chat_answers_as_documented(make_gateway, gateway_app, acme):
    spec = gateway_app.extensions["openapi"]
    http = make_gateway(CHAT_STARTS_PER_IP=1, CHAT_START_WINDOW_SECONDS=60)
    path = f"{public_api('acme')}/conversations"
    assert http.post(path, json=CUSTOMER).status_code == 201
    throttled = http.post(path, json=CUSTOMER)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert_documented(spec, "POST", path, throttled)
