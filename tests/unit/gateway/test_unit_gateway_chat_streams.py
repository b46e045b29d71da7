"""The customers' chat streams without a broker: stream tickets, where pages open streams, what a
customer may see of an event, and the hub's routing and caps (services/tracker_gateway/chat_streams.py)."""
import json
import time
import uuid

import pytest

from services.tracker_gateway.chat_streams import CustomerStream, ChatStreamHub, customer_update
from services.tracker_gateway.public import chat_stream_auth as auth
from shared.contracts.enums import CHAT_CONVERSATION_ASSIGNED, CHAT_MESSAGE_POSTED

CONFIG = {"JWT_SECRET": "a test secret that is long enough for HS256 keys!", "CHAT_STREAM_URL": "",
          "CHAT_STREAM_PORT": 8001, "PUBLIC_BASE_URL": "http://127.0.0.1:8000/", "CHAT_STREAM_ORIGINS": []}


def test_a_ticket_opens_its_conversation_on_its_page_only_while_fresh():
    conversation, client = uuid.uuid4(), uuid.uuid4()
    ticket = auth.issue(CONFIG, conversation, client, "acme")
    assert auth.verify(CONFIG, ticket, "acme") == (str(conversation), str(client))
    with pytest.raises(auth.InvalidTicket):
        auth.verify(CONFIG, ticket, "globex")
    with pytest.raises(auth.InvalidTicket):
        auth.verify({**CONFIG, "JWT_SECRET": "another secret that is long enough for HS256!!"}, ticket, "acme")
    old = auth.issue(CONFIG, conversation, client, "acme", now=time.time() - auth.STREAM_TICKET_SECONDS - 5)
    with pytest.raises(auth.InvalidTicket):
        auth.verify(CONFIG, old, "acme")
    for nothing in (None, "", "x.y.z"):
        with pytest.raises(auth.InvalidTicket):
            auth.verify(CONFIG, nothing, "acme")


def test_where_pages_open_streams():
    assert auth.stream_base(CONFIG) == "http://127.0.0.1:8001"  # make run: the stream server's own port
    assert auth.stream_base({**CONFIG, "CHAT_STREAM_URL": "same-origin"}) == ""
    assert auth.stream_base({**CONFIG, "CHAT_STREAM_URL": "https://chat.example.com/x"}) == "https://chat.example.com"
    assert auth.allowed_origins(CONFIG) == {"http://127.0.0.1:8000"}
    assert auth.allowed_origins({**CONFIG, "CHAT_STREAM_ORIGINS": ["https://a.example"]}) == {"https://a.example"}


def event(conversation_id="c1", client_id="acme", event_type=CHAT_MESSAGE_POSTED, body="Hi"):
    return {"event_type": event_type, "data": {
        "conversation": {"id": conversation_id, "client_id": client_id, "status": "open", "assigned_to": "ann@x",
                         "agent_read_up_to": 3, "closed_by": None, "customer_name": "Kira"},
        "message": {"id": 7, "conversation_id": conversation_id, "author": "agent", "author_name": "Ann",
                    "author_id": "ann@x", "body": body, "created_at": "2026-12-01T00:00:00+00:00"},
        "actor": "ann@x"}}


def test_a_customer_sees_no_agents_fields():
    update = customer_update(event())
    assert update["conversation"] == {"id": "c1", "status": "open", "customer_name": "Kira"}
    assert update["messages"] == [{"id": 7, "conversation_id": "c1", "author": "agent", "author_name": "Ann",
                                   "body": "Hi", "created_at": "2026-12-01T00:00:00+00:00"}]


def frames(stream):
    out = []
    while not stream.inbox.empty():
        out.append(stream.inbox.get_nowait())
    return out


def test_the_hub_gives_each_event_to_its_conversations_streams_alone():
    hub = ChatStreamHub("amqp://unused", None, capacity=10, per_address=2)
    mine, other, elsewhere = (CustomerStream("c1", "acme", "1.1.1.1"), CustomerStream("c2", "acme", "1.1.1.2"),
                              CustomerStream("c1", "globex", "1.1.1.3"))
    for stream in (mine, other, elsewhere):
        assert hub.add(stream) is None
    hub._on_event("acme", event())
    hub._on_event("acme", event(event_type=CHAT_CONVERSATION_ASSIGNED))  # filtered before the loop: see _deliver
    [first, second] = frames(mine)
    assert first.startswith(b"event: update\n") and json.loads(first.split(b"data: ")[1])["messages"][0]["body"] == "Hi"
    assert frames(other) == [] and frames(elsewhere) == []  # another conversation; another client's id


def test_the_hub_caps_streams_per_process_and_per_address():
    hub = ChatStreamHub("amqp://unused", None, capacity=3, per_address=2)
    streams = [CustomerStream(f"c{i}", "acme", "1.1.1.1") for i in range(3)]
    assert [hub.add(stream) for stream in streams] == [None, None, "address"]
    assert hub.add(CustomerStream("c9", "acme", "2.2.2.2")) is None
    assert hub.add(CustomerStream("c8", "acme", "3.3.3.3")) == "full"
    hub.remove(streams[0])
    hub.remove(streams[0])  # twice: counted once
    assert hub.count == 2 and hub.addresses["1.1.1.1"] == 1 and "c0" not in hub.by_conversation


def test_a_stream_too_far_behind_is_told_to_catch_up():
    stream = CustomerStream("c1", "acme", "1.1.1.1")
    for n in range(150):
        stream.offer(f"frame {n}".encode())
    assert b"event: ready" in frames(stream)[0]
