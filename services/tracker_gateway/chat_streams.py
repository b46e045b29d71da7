"""The customers' chat stream server: `GET /api/public/chat/<slug>/stream` as server-sent events, on an
asyncio (aiohttp) event loop of its own (`python -m services.tracker_gateway chat-stream`, port
CHAT_STREAM_PORT), so that thousands of idle customer pages cost a few kilobytes each instead of a
gunicorn thread each (docs/decisions.md).

Fed by the same kombu fan-out as the agents' live stream (console/live.py's LiveHub, bound to the
chat feed alone): one exclusive queue per process, its consumer thread handing each event to the
loop, which passes it to the streams of that event's conversation. A stream opens with the ticket the
gateway signs after checking the customer's conversation token (public/chat_stream_auth.py), so this
process needs no database, RPC or Redis. What a stream says:

- `ready`: the stream is live; the page catches up once (`GET .../conversation?after=<newest>`),
  as events published before this moment are not on it. Said again after the broker came back or
  when a slow reader fell BACKLOG events behind.
- `update`: `{conversation, messages}` in the customer's view (the poll's shape): a message posted
  in the conversation (the customer's own included) or the conversation closed.
- `paused`: the broker is away; the page polls until the next `ready`.
A comment every HEARTBEAT_SECONDS keeps proxies from closing an idle stream and notices closed pages.
"""
import asyncio
import json
import logging
import logging.config
import resource
from collections import Counter

from aiohttp import web

from services.tracker_gateway import config as gateway_config
from services.tracker_gateway.console.feeds import FEEDS
from services.tracker_gateway.console.live_hub import PAUSED, READY, STOP, LiveHub
from services.tracker_gateway.core.net import peer_address
from services.tracker_gateway.core.security import HEADERS as SECURITY_HEADERS
from services.tracker_gateway.public import chat_stream_auth
from shared.contracts.chat_schemas import CustomerConversationSchema, CustomerMessageSchema
from shared.contracts.enums import CHAT_CONVERSATION_CLOSED, CHAT_MESSAGE_POSTED

log = logging.getLogger(__name__)

TICKET_HEADER = "X-Chat-Stream-Ticket"
# One timer for all streams, not one each: every stream gets a comment this often (nginx reads with 60 s).
HEARTBEAT_SECONDS = 20.0
BACKLOG = 100
CUSTOMER_EVENTS = (CHAT_MESSAGE_POSTED, CHAT_CONVERSATION_CLOSED)
CONVERSATION_FIELDS = tuple(CustomerConversationSchema().fields)
MESSAGE_FIELDS = tuple(CustomerMessageSchema().fields)
KEEPALIVE = object()


def customer_update(event):
    """An event as its customer may see it: the poll's {conversation, messages} without agents' fields."""
    data = event["data"]
    conversation = {key: data["conversation"][key] for key in CONVERSATION_FIELDS if key in data["conversation"]}
    messages = []
    if event["event_type"] == CHAT_MESSAGE_POSTED:
        messages = [{key: data["message"][key] for key in MESSAGE_FIELDS if key in data["message"]}]
    return {"conversation": conversation, "messages": messages}


def frame(event, data):
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


READY_FRAME = frame("ready", {})
PAUSED_FRAME = frame("paused", {})
KEEPALIVE_FRAME = b": keep-alive\n\n"


class CustomerStream:
    """One open page: its conversation, its client, its address, what waits to be written."""

    __slots__ = ("conversation_id", "client_id", "address", "inbox")

    def __init__(self, conversation_id, client_id, address):
        self.conversation_id = conversation_id
        self.client_id = client_id
        self.address = address
        self.inbox = asyncio.Queue(maxsize=BACKLOG)

    def offer(self, item):
        try:
            self.inbox.put_nowait(item)
        except asyncio.QueueFull:
            # Too far behind: drop the backlog, the page catches up on `ready`.
            while not self.inbox.empty():
                self.inbox.get_nowait()
            self.inbox.put_nowait(READY_FRAME)


class ChatStreamHub(LiveHub):
    """The chat feed's consumer (a thread, as the agents' hub) feeding this process's streams on the loop."""

    queue_prefix = "gateway.chat-stream"

    def __init__(self, amqp_uri, loop, capacity, per_address):
        super().__init__(amqp_uri, capacity, feeds={"chat": FEEDS["chat"]})
        self.loop = loop
        self.per_address = per_address
        self.by_conversation = {}
        self.addresses = Counter()
        self.count = 0
        self.connected = False

    # -- on the loop --

    def add(self, stream):
        """None when the stream may open, else why not: "full" (this process) or "address" (too many from it)."""
        if self.count >= self.capacity or self._stopping.is_set():
            return "full"
        if self.addresses[stream.address] >= self.per_address:
            return "address"
        self.by_conversation.setdefault(stream.conversation_id, set()).add(stream)
        self.addresses[stream.address] += 1
        self.count += 1
        return None

    def remove(self, stream):
        streams = self.by_conversation.get(stream.conversation_id)
        if streams is None or stream not in streams:
            return
        streams.discard(stream)
        if not streams:
            del self.by_conversation[stream.conversation_id]
        self.addresses[stream.address] -= 1
        if not self.addresses[stream.address]:
            del self.addresses[stream.address]
        self.count -= 1

    def each_stream(self):
        for streams in list(self.by_conversation.values()):
            yield from list(streams)

    def _on_state(self, item):
        self.connected = item == READY
        for stream in self.each_stream():
            stream.offer(READY_FRAME if item == READY else PAUSED_FRAME)

    def _on_event(self, tenant, event):
        streams = self.by_conversation.get(str(event["data"]["conversation"]["id"]))
        if not streams:
            return
        payload = frame("update", customer_update(event))  # encoded once for every page of the conversation
        for stream in streams:
            if stream.client_id == tenant:
                stream.offer(payload)

    def end_all(self):
        self._stopping.set()
        for stream in self.each_stream():
            stream.offer(STOP)

    # -- from the consumer's thread --

    def _deliver(self, feed, tenant, event):
        if event["event_type"] in CUSTOMER_EVENTS:
            self.loop.call_soon_threadsafe(self._on_event, tenant, event)

    def _broadcast(self, item):
        if item in (READY, PAUSED):
            self.loop.call_soon_threadsafe(self._on_state, item)


def _cors(request, config):
    origin = request.headers.get("Origin")
    if origin and origin in chat_stream_auth.allowed_origins(config):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Vary": "Origin"}


def _error(request, config, status, message, **headers):
    return web.json_response({"error": message}, status=status,
                             headers={**SECURITY_HEADERS, **_cors(request, config), "Cache-Control": "no-store", **headers})


async def preflight(request):
    """CORS preflight: the page (on the gateway's origin) may send the ticket header."""
    config = request.app["config"]
    headers = _cors(request, config)
    if "Access-Control-Allow-Origin" in headers:
        headers.update({"Access-Control-Allow-Methods": "GET", "Access-Control-Allow-Headers": TICKET_HEADER,
                        "Access-Control-Max-Age": "600"})
    return web.Response(status=204, headers=headers)


async def stream(request):
    """The conversation's stream, for the holder of a ticket from `POST .../conversation/stream`."""
    config, hub = request.app["config"], request.app["hub"]
    slug = request.match_info["slug"]
    try:
        conversation_id, client_id = chat_stream_auth.verify(config, request.headers.get(TICKET_HEADER), slug)
    except chat_stream_auth.InvalidTicket:
        return _error(request, config, 401, "no valid stream ticket: ask POST /api/public/chat/<slug>/conversation/stream")
    if not hub.connected:
        return _error(request, config, 503, "events are not arriving just now: poll", **{"Retry-After": "5"})
    address = peer_address(request.headers.get("X-Forwarded-For"), request.remote, config["TRUSTED_PROXIES"])
    customer = CustomerStream(conversation_id, client_id, address)
    refused = hub.add(customer)
    if refused == "address":
        return _error(request, config, 429, "too many open chat streams from this address", **{"Retry-After": "30"})
    if refused:
        return _error(request, config, 503, "this stream server is full: poll", **{"Retry-After": "30"})
    try:
        response = web.StreamResponse(headers={
            **SECURITY_HEADERS, **_cors(request, config), "Content-Type": "text/event-stream",
            "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        await response.prepare(request)
        await response.write(b": stream\n\n" + READY_FRAME)
        while True:
            item = await customer.inbox.get()
            if item is STOP:
                break
            await response.write(KEEPALIVE_FRAME if item is KEEPALIVE else item)
        return response
    finally:  # ended, the page gone (cancelled), or a write failed
        hub.remove(customer)


async def healthz(request):
    hub = request.app["hub"]
    status = 200 if hub.connected else 503
    return web.json_response({"status": "ok" if hub.connected else "waiting for the broker", "streams": hub.count},
                             status=status, headers={"Cache-Control": "no-store"})


async def _heartbeats(app):
    hub = app["hub"]
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        for customer in hub.each_stream():
            customer.offer(KEEPALIVE)


async def _start(app):
    app["hub"].loop = asyncio.get_running_loop()
    app["hub"]._ensure_consumer()
    app["heartbeats"] = asyncio.create_task(_heartbeats(app))


async def _stop(app):
    app["hub"].end_all()
    app["hub"].stop()
    app["heartbeats"].cancel()


async def _server_header(request, response):
    response.headers["Server"] = "Deskline"  # as the gateway's: no software, no version


def create_app(config=None):
    config = gateway_config.load(config)
    app = web.Application()
    app["config"] = config
    app["hub"] = ChatStreamHub(config["AMQP_URI"], None, config["CHAT_STREAMS_MAX"], config["CHAT_STREAMS_PER_IP"])
    path = chat_stream_auth.stream_path("{slug}")
    app.router.add_get(path, stream)
    app.router.add_route("OPTIONS", path, preflight)
    app.router.add_get("/healthz", healthz)
    app.on_response_prepare.append(_server_header)
    app.on_startup.append(_start)
    app.on_shutdown.append(_stop)
    return app


def main():
    config = gateway_config.load()
    logging.config.dictConfig(config["LOGGING"])
    # A socket per open page: the soft limit on open files (often 1,024) up to what the system allows.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    app = create_app(config)
    log.info("chat streams on %s:%s", config["HOST"], config["CHAT_STREAM_PORT"])
    # handler_cancellation: a page that goes away ends its handler at once (not at the next heartbeat).
    web.run_app(app, host=config["HOST"], port=config["CHAT_STREAM_PORT"], access_log=None, print=None,
                handler_cancellation=True, shutdown_timeout=5, backlog=4096)
