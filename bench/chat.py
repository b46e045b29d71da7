"""Chat benchmark: a message's round trip through the gateway with 50 conversations at once.
`python -m bench.chat` alone, or via `make bench`.

Each conversation is a customer page and an agent, as the browsers do it: the customer posts over
the public API (token in a header) and polls `?after=<last id>` every second; an agent page holds
the console's event stream (`/api/live?feeds=chat`, server-sent events) and reloads its
conversation list after each burst of events; the agent answers each message through the agent API.
Measured: customer post -> the agent's stream carries it (our aim: p95 < 500 ms), and
agent post -> the customer's poll shows it. What runs, as in production on this machine: gunicorn
(gthread, 2 workers), the chat service, PostgreSQL, RabbitMQ and Redis. Left out: tickets, the
notifier and the tracker projector (a chat message reaches none of them).
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
from contextlib import suppress

import eventlet
import eventlet.event
import redis
import requests

from shared.platform.green import patch

patch()  # first: the benchmark's callers are green threads
from bench.common import bench_amqp_uri, bench_database, percentile  # noqa: E402
from bench.gateway import AGENT_EMAIL, AGENT_PASSWORD, Client, _answers, free_port, make_tenant  # noqa: E402
from services.chat.config import MIGRATIONS_DIR as CHAT_MIGRATIONS  # noqa: E402
from services.tracker_gateway.config import MIGRATIONS_DIR as GATEWAY_MIGRATIONS  # noqa: E402
from shared.testing import ROOT, ServiceProcess, wait_for  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/1"
REDIS_PREFIX = "bench:chat:"
PUBLIC = "/api/public/chat/bench"  # make_tenant's client has the slug "bench"
AGENT_API = "/api/chat/conversations"
POLL_SECONDS = 1.0          # the customer page's poll interval (static/chat/customer.js)
LIST_DEBOUNCE_SECONDS = 0.2  # the agent page's list reload after a burst of events (static/chat/agent.js)
AIM_P95 = 0.500


class AgentStream:
    """The agent page's event stream: who is waiting for which message body, and when it arrived."""

    def __init__(self, port, token):
        self.response = requests.get(f"http://127.0.0.1:{port}/api/live?feeds=chat", stream=True, timeout=(5, 60),
                                     headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
        self.response.raise_for_status()
        self.waiting = {}
        self.ready = eventlet.event.Event()
        self.events = 0
        self.dirty = False
        self.reader = eventlet.spawn(self._read)

    def expect(self, body):
        waiter = eventlet.event.Event()
        self.waiting[body] = waiter
        return waiter

    def _read(self):
        kind = None
        for line in self.response.iter_lines(decode_unicode=True):
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:") and kind == "ready":
                self.ready.send(True)
            elif line.startswith("data:") and kind == "chat.message_posted":
                arrived = time.perf_counter()
                self.events += 1
                self.dirty = True
                waiter = self.waiting.pop(json.loads(line[5:])["data"]["message"]["body"], None)
                if waiter is not None:
                    waiter.send(arrived)

    def close(self):
        self.reader.kill()
        self.response.close()


def p(samples, q):
    return percentile(samples, q) * 1000 if samples else float("nan")


def report(name, samples, elapsed):
    line = (f"{name:<46} {len(samples) / elapsed:7.1f}/s   p50 {p(samples, 50):6.1f} ms   p95 {p(samples, 95):6.1f} ms"
            f"   p99 {p(samples, 99):6.1f} ms   (n={len(samples)})")
    print(line, flush=True)
    return {"rate": len(samples) / elapsed, "p50": p(samples, 50) / 1000, "p95": p(samples, 95) / 1000,
            "p99": p(samples, 99) / 1000, "n": len(samples)}


def main(conversations=50, seconds=None, think=2.0):
    """`conversations` customers each post, wait for the agent to see it, get an answer, then think
    for ~`think` s; for `seconds` (BENCH_CHAT_SECONDS, default 30)."""
    seconds = seconds or float(os.environ.get("BENCH_CHAT_SECONDS", 30))
    amqp_uri = bench_amqp_uri()
    chat_db = bench_database("deskline_chat", CHAT_MIGRATIONS)
    gateway_db = bench_database("deskline_gateway_chat", GATEWAY_MIGRATIONS)
    make_tenant(gateway_db)
    store = redis.Redis.from_url(REDIS_URL)
    port = free_port()
    many = str(10**9)
    env = {
        "AMQP_URI": amqp_uri, "GATEWAY_DATABASE_URL": gateway_db, "REDIS_URL": REDIS_URL,
        "GATEWAY_REDIS_PREFIX": REDIS_PREFIX, "GATEWAY_PORT": str(port), "RPC_TIMEOUT": "30", "LOG_LEVEL": "WARNING",
        # Every customer comes from 127.0.0.1 here: the per-address limits would stop the benchmark.
        "CHAT_STARTS_PER_IP": many, "CHAT_POSTS_PER_IP": many, "CHAT_READS_PER_IP": many,
    }
    chat = ServiceProcess("chat", {"CHAT_DATABASE_URL": chat_db}, amqp_uri, "/tmp/deskline-bench-chat.log")
    gateway_log = open("/tmp/deskline-bench-chat-gateway.log", "wb")
    gateway = None
    stream = None
    try:
        chat.start()
        gateway = subprocess.Popen([sys.executable, "-m", "services.tracker_gateway", "run"], cwd=ROOT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                                   stdout=gateway_log, stderr=subprocess.STDOUT)
        wait_for(lambda: _answers(port), timeout=30, interval=0.2, message="gunicorn")
        login = Client(port)
        token = login.request("POST", "/api/auth/login", {"email": AGENT_EMAIL, "password": AGENT_PASSWORD})["access_token"]
        login.close()
        stream = AgentStream(port, token)
        stream.ready.wait()

        starter = Client(port)
        started = [starter.request("POST", f"{PUBLIC}/conversations", expect=(201,), body={
            "customer_name": f"Customer {i}", "customer_email": f"c{i}@bench.io", "message": "Hello"})
            for i in range(conversations)]
        starter.close()
        print(f"\n== chat: {conversations} conversations for {seconds:.0f} s, customers post every ~{think:.0f} s and poll "
              f"every {POLL_SECONDS:.0f} s, an agent page on the event stream; gunicorn gthread 2x8 ==", flush=True)

        to_agent, to_customer, customer_posts, agent_posts, polls, lists = [], [], [], [], [], []
        replies = [{} for _ in range(conversations)]  # per conversation: reply body -> when the agent posted it
        running = [True]
        deadline = time.monotonic() + seconds

        def customer(i):
            page, agent = Client(port), Client(port, token)
            page.headers["X-Chat-Token"] = started[i]["token"]
            conversation_id = started[i]["conversation"]["id"]
            eventlet.sleep(random.uniform(0, think))  # customers do not all type at once
            seq = 0
            while time.monotonic() < deadline:
                seq += 1
                body = f"bench {i}.{seq}"
                waiter = stream.expect(body)
                sent = time.perf_counter()
                page.request("POST", f"{PUBLIC}/conversation/messages", {"body": body}, expect=(201,))
                customer_posts.append(time.perf_counter() - sent)
                with suppress(eventlet.Timeout), eventlet.Timeout(10):
                    to_agent.append(waiter.wait() - sent)
                reply = f"reply {i}.{seq}"
                replies[i][reply] = sent = time.perf_counter()
                agent.request("POST", f"{AGENT_API}/{conversation_id}/messages", {"body": reply}, expect=(201,))
                agent_posts.append(time.perf_counter() - sent)
                eventlet.sleep(random.uniform(0.5, 1.5) * think)
            page.close()
            agent.close()

        def poller(i):
            page = Client(port)
            page.headers["X-Chat-Token"] = started[i]["token"]
            after = started[i]["messages"][-1]["id"]
            eventlet.sleep(random.uniform(0, POLL_SECONDS))
            while running[0]:
                asked = time.perf_counter()
                data = page.request("GET", f"{PUBLIC}/conversation?after={after}")
                answered = time.perf_counter()
                polls.append(answered - asked)
                for message in data["messages"]:
                    after = max(after, message["id"])
                    posted = replies[i].pop(message["body"], None)
                    if posted is not None:
                        to_customer.append(answered - posted)
                eventlet.sleep(POLL_SECONDS)  # the page waits a second after each answer
            page.close()

        def agent_page():
            # The Chats page reloads its list (unread counts, previews) once per burst of events.
            page = Client(port, token)
            while running[0]:
                eventlet.sleep(LIST_DEBOUNCE_SECONDS)
                if stream.dirty:
                    stream.dirty = False
                    asked = time.perf_counter()
                    page.request("GET", f"{AGENT_API}?status=open&per_page=20")
                    lists.append(time.perf_counter() - asked)
            page.close()

        began = time.perf_counter()
        pool = eventlet.GreenPool(2 * conversations + 1)
        customers = [pool.spawn(customer, i) for i in range(conversations)]
        for i in range(conversations):
            pool.spawn(poller, i)
        pool.spawn(agent_page)
        for thread in customers:
            thread.wait()
        elapsed = time.perf_counter() - began
        eventlet.sleep(POLL_SECONDS * 1.5)  # the last replies' polls
        running[0] = False
        pool.waitall()

        results = {
            "customer -> agent": report("round trip: customer post -> agent's stream", to_agent, elapsed),
            "agent -> customer": report("agent post -> customer's poll shows it", to_customer, elapsed),
            "customer post": report("POST (customer message, public API)", customer_posts, elapsed),
            "agent post": report("POST (agent reply, agent API)", agent_posts, elapsed),
            "poll": report("GET ?after= (customer poll)", polls, elapsed),
            "list": report("GET conversations (agent page list)", lists, elapsed),
        }
        lost = len(stream.waiting)
        print(f"  stream events {stream.events}, messages never seen on the stream: {lost}", flush=True)
        ok = results["customer -> agent"]["p95"] < AIM_P95 and lost == 0
        print(f"  round trip aim p95 < {AIM_P95 * 1000:.0f} ms: {'met' if ok else 'NOT met'}", flush=True)
        return results
    finally:
        if stream is not None:
            stream.close()
        if gateway is not None:
            gateway.send_signal(signal.SIGTERM)
            try:
                gateway.wait(20)
            except subprocess.TimeoutExpired:
                gateway.kill()
                gateway.wait()
        gateway_log.close()
        chat.stop()
        for key in store.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
            store.delete(key)
        store.close()


if __name__ == "__main__":
    started_at = time.perf_counter()
    main()
    print(f"(chat benchmark took {time.perf_counter() - started_at:.0f} s)")
