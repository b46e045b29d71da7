"""The customers' chat stream (services/tracker_gateway/chat_streams.py) against the real chat service:
the gateway signs a stream ticket for the conversation token's holder, the stream server (its own
asyncio process) pushes an agent's reply in the customer's view, only to that conversation's
streams, and refuses anything without a valid ticket for its page."""
import json
import time

import eventlet
import jwt
import pytest
import requests

from services.tracker_gateway.config import DEV_JWT_SECRET
from services.tracker_gateway.public import chat_stream_auth
from tests.fixtures.chat_web import ChatStreams, public_api, start_chat, token_header

AGENT_API = "/api/chat/conversations"
PAGE_ORIGIN = "http://127.0.0.1:8000"


class Stream:
    """One open stream, read as the page reads it: (event, data) frames."""

    def __init__(self, url, ticket, origin=PAGE_ORIGIN):
        self.response = requests.get(url, stream=True, timeout=(5, 30), headers={
            "X-Chat-Stream-Ticket": ticket, "Accept": "text/event-stream", "Origin": origin})
        self.lines = self.response.iter_lines(decode_unicode=True)

    def next_event(self, timeout=5.0):
        kind = None
        with eventlet.Timeout(timeout):
            for line in self.lines:
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    return kind, json.loads(line[5:])
        raise AssertionError("the stream ended")

    def until(self, predicate, timeout=5.0):
        """The first frame for which predicate(event, data) holds (those before it are returned too)."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            frame = self.next_event(max(0.1, deadline - time.monotonic()))
            seen.append(frame)
            if predicate(*frame):
                return frame, seen

    def close(self):
        self.response.close()


@pytest.fixture
def http_streamed(make_gateway, chat_streams):
    """A gateway whose pages open streams at the test's stream server."""
    return make_gateway(CHAT_STREAM_URL=chat_streams.url)


def stream_ticket(http, token, slug="acme"):
    response = http.post(f"{public_api(slug)}/conversation/stream", headers=token_header(token))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def open_stream(http, token, slug="acme"):
    where = stream_ticket(http, token, slug)
    stream = Stream(where["url"], where["ticket"])
    assert stream.response.status_code == 200, stream.response.text
    assert stream.next_event() == ("ready", {})
    return stream


def test_an_agents_reply_reaches_the_customers_stream(http_streamed, acme, chat_streams):
    token, started = start_chat(http_streamed)
    where = stream_ticket(http_streamed, token)
    assert where["url"] == f"{chat_streams.url}/api/public/chat/acme/stream" and where["expires_in"] == 60
    stream = Stream(where["url"], where["ticket"])
    try:
        response = stream.response
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
        assert response.headers["Cache-Control"] == "no-store" and response.headers["Server"] == "Deskline"
        assert stream.next_event() == ("ready", {})

        conversation_id = started["conversation"]["id"]
        reply = http_streamed.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "Unplug it."}, headers=acme)
        assert reply.status_code == 201
        (kind, data), _ = stream.until(lambda kind, data: kind == "update" and data["messages"])
        # The poll's shape, in the customer's view: no agents' fields.
        [message] = data["messages"]
        assert (message["id"], message["author"], message["body"]) == (reply.get_json()["id"], "agent", "Unplug it.")
        assert "author_id" not in message
        assert data["conversation"]["id"] == conversation_id and data["conversation"]["status"] == "open"
        assert not {"client_id", "assigned_to", "agent_read_up_to", "closed_by"} & set(data["conversation"])

        # The customer closing it: the closing line and the status come too.
        closed = http_streamed.post(f"{public_api('acme')}/conversation/close", headers=token_header(token))
        assert closed.status_code == 200
        stream.until(lambda kind, data: kind == "update" and data["conversation"]["status"] == "closed")
    finally:
        stream.close()


def test_a_stream_carries_its_own_conversation_alone(http_streamed, acme):
    token_a, started_a = start_chat(http_streamed, message="A")
    token_b, started_b = start_chat(http_streamed, message="B")
    stream = open_stream(http_streamed, token_a)
    try:
        for conversation, body in ((started_b, "to B"), (started_a, "to A")):
            posted = http_streamed.post(f"{AGENT_API}/{conversation['conversation']['id']}/messages",
                                        json={"body": body}, headers=acme)
            assert posted.status_code == 201
        _, seen = stream.until(lambda kind, data: kind == "update" and data["messages"])
        assert [data["messages"][0]["body"] for kind, data in seen if kind == "update"] == ["to A"]
    finally:
        stream.close()


def test_a_stream_opens_only_with_a_valid_ticket_for_its_page(http_streamed, acme, globex, chat_streams):
    token, started = start_chat(http_streamed)
    # No ticket without the conversation's token, nor on another client's page.
    assert http_streamed.post(f"{public_api('acme')}/conversation/stream").status_code == 404
    assert http_streamed.post(f"{public_api('acme')}/conversation/stream", headers=token_header("x" * 43)).status_code == 404
    assert http_streamed.post(f"{public_api('globex')}/conversation/stream", headers=token_header(token)).status_code == 404

    good = stream_ticket(http_streamed, token)
    url = good["url"]
    now = int(time.time())
    claims = {"conv": started["conversation"]["id"], "cid": "whatever", "slug": "acme",
              "aud": chat_stream_auth.AUDIENCE, "exp": now + 60}
    refused = {
        "none": None,
        "garbage": "not-a-ticket",
        "forged": jwt.encode(claims, "another secret that is long enough to be a key!!", algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": now - 5}, DEV_JWT_SECRET, algorithm="HS256"),
        "an access token's audience": jwt.encode({**claims, "aud": "deskline-api"}, DEV_JWT_SECRET, algorithm="HS256"),
    }
    for why, ticket in refused.items():
        response = requests.get(url, headers={"X-Chat-Stream-Ticket": ticket} if ticket else {}, timeout=5)
        assert response.status_code == 401, why
        assert response.headers["Cache-Control"] == "no-store"
    # A ticket for acme's page opens nothing on globex's.
    response = requests.get(url.replace("/acme/", "/globex/"), headers={"X-Chat-Stream-Ticket": good["ticket"]}, timeout=5)
    assert response.status_code == 401


def test_the_page_origin_alone_may_read_streams_cross_origin(http_streamed, acme, chat_streams):
    url = f"{chat_streams.url}/api/public/chat/acme/stream"
    allowed = requests.options(url, timeout=5, headers={
        "Origin": PAGE_ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-chat-stream-ticket"})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert allowed.headers["Access-Control-Allow-Headers"] == "X-Chat-Stream-Ticket"
    other = requests.options(url, timeout=5, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in other.headers

    # The chat page may connect there (its CSP says so); other pages keep connect-src 'self'.
    page = http_streamed.get("/chat/acme")
    assert f"connect-src 'self' {chat_streams.url}" in page.headers["Content-Security-Policy"]
    assert "connect-src 'self';" in http_streamed.get("/track-ticket").headers["Content-Security-Policy"]


def test_streams_from_one_address_are_capped(make_gateway, acme, amqp_uri, tmp_path):
    server = ChatStreams({"AMQP_URI": amqp_uri, "CHAT_STREAMS_PER_IP": "1"}, tmp_path / "capped.log")
    try:
        http = make_gateway(CHAT_STREAM_URL=server.url)
        token, _ = start_chat(http)
        first = open_stream(http, token)
        where = stream_ticket(http, token)
        second = requests.get(where["url"], headers={"X-Chat-Stream-Ticket": where["ticket"]}, timeout=5)
        assert second.status_code == 429 and second.headers["Retry-After"]
        first.close()
    finally:
        server.stop()
