"""Customers' chat streams benchmark: what 5,000 open customer pages cost the stream server
(services/tracker_gateway/chat_streams.py), and how fast an agent's reply reaches its customer while
100 conversations are active. `python -m bench chat_streams` (or `python -m bench.chat_streams`).

Every process runs as under `make run`: the chat service, the gateway (gunicorn gthread) and the
stream server, with PostgreSQL, RabbitMQ and Redis. The client is an asyncio process holding every
connection itself (raw sockets, no thread per stream). The idle streams' tickets are signed here
with the gateway's development secret for random conversations (the stream server checks nothing
else: asking the gateway 5,000 times would measure the gateway); the 100 active conversations go the
page's way: started and ticketed through the gateway, replies posted through the agent API.

Measured: streams held open, the stream server's memory per idle stream (RSS growth / streams), its
CPU while they are idle (heartbeats included; aim < 5% of one core), and agent post -> the reply on
its customer's stream (p95 aim < 300 ms).
"""
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

AIM_P95 = 0.300
AIM_IDLE_CPU = 5.0
PUBLIC = "/api/public/chat/bench"  # make_tenant's client has the slug "bench"
TICKS = os.sysconf("SC_CLK_TCK")
AGENT_EMAIL, AGENT_PASSWORD = "bench@bench.example", "bench password, not a secret"  # bench.gateway's make_tenant


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class StreamClient:
    """One page's stream over a raw asyncio connection: frames parsed as they come."""

    def __init__(self, port, slug, ticket):
        self.port, self.slug, self.ticket = port, slug, ticket
        self.reader = self.writer = None
        self.waiting = {}  # reply body -> future of its arrival time

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write((f"GET {PUBLIC.replace('bench', self.slug)}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           f"X-Chat-Stream-Ticket: {self.ticket}\r\nAccept: text/event-stream\r\n\r\n").encode())
        status = await self.reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream refused: {status!r}")
        while await self.reader.readline() not in (b"\r\n", b""):
            pass  # headers
        while True:
            kind, _ = await self.frame()
            if kind == "ready":
                return self

    async def frame(self):
        """(event, data) of the next frame; chunked transfer's size lines and comments are skipped."""
        kind, data = None, None
        while True:
            line = (await self.reader.readline()).decode().rstrip("\r\n")
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = json.loads(line[5:])
            elif not line and kind:
                return kind, data
            elif line == "" and self.reader.at_eof():
                raise ConnectionError("the stream ended")

    async def listen(self):
        while True:
            kind, data = await self.frame()
            if kind == "update":
                for message in data["messages"]:
                    waiter = self.waiting.pop(message["body"], None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(time.perf_counter())

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def open_idle_streams(port, config, count, concurrency=200):
    from services.tracker_gateway.public import chat_stream_auth

    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            ticket = chat_stream_auth.issue(config, uuid.uuid4(), uuid.uuid4(), "bench")
            return await StreamClient(port, "bench", ticket).open()

    return await asyncio.gather(*(one() for _ in range(count)))


async def measure(ports, config, stream_pid, idle_streams, conversations, seconds, idle_seconds):
    import aiohttp

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of sockets in this one process
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    results = {}
    base_rss = rss_bytes(stream_pid)
    began = time.perf_counter()
    streams = await open_idle_streams(ports["stream"], config, idle_streams)
    opened = time.perf_counter() - began
    await asyncio.sleep(2)  # the server's buffers settle
    per_stream = (rss_bytes(stream_pid) - base_rss) / idle_streams
    print(f"\n== chat streams: {idle_streams} idle customer streams held open (asyncio client), stream server "
          f"aiohttp on one loop ==", flush=True)
    print(f"  opened {len(streams)} streams in {opened:.1f} s ({len(streams) / opened:.0f}/s)", flush=True)
    print(f"  stream server memory: {base_rss / 2**20:.1f} MiB -> {rss_bytes(stream_pid) / 2**20:.1f} MiB, "
          f"{per_stream / 1024:.1f} KiB per idle stream", flush=True)
    cpu_before, idle_began = cpu_seconds(stream_pid), time.perf_counter()
    await asyncio.sleep(idle_seconds)
    idle_cpu = 100 * (cpu_seconds(stream_pid) - cpu_before) / (time.perf_counter() - idle_began)
    print(f"  stream server CPU with {idle_streams} idle streams over {idle_seconds:.0f} s (heartbeats every 20 s): "
          f"{idle_cpu:.2f}% of one core (aim < {AIM_IDLE_CPU:.0f}%: {'met' if idle_cpu < AIM_IDLE_CPU else 'NOT met'})",
          flush=True)
    results.update(streams=len(streams), kib_per_stream=per_stream / 1024, idle_cpu_percent=idle_cpu)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conversations + 4)) as http:
        async with http.post(f"{gateway}/api/auth/login", json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD}) as r:
            agent = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        active = []
        for i in range(conversations):
            async with http.post(f"{gateway}{PUBLIC}/conversations", json={
                    "customer_name": f"Customer {i}", "customer_email": f"c{i}@bench.io", "message": "Hello"}) as r:
                started = await r.json()
            async with http.post(f"{gateway}{PUBLIC}/conversation/stream", headers={"X-Chat-Token": started["token"]}) as r:
                where = await r.json()
            stream = await StreamClient(ports["stream"], "bench", where["ticket"]).open()
            active.append((started["conversation"]["id"], stream, asyncio.create_task(stream.listen())))
        latencies, pushes, lost, busy, deadline = [], [], [0], [0], time.monotonic() + seconds

        async def converse(i, conversation_id, stream):
            await asyncio.sleep(random.uniform(0, 1.5))
            seq = 0
            while time.monotonic() < deadline:
                seq += 1
                body = f"reply {i}.{seq}"
                arrived = stream.waiting[body] = asyncio.get_running_loop().create_future()
                while True:  # a gateway with every RPC proxy busy says 503: the console retries, so do we
                    sent = time.perf_counter()
                    async with http.post(f"{gateway}/api/chat/conversations/{conversation_id}/messages",
                                         json={"body": body}, headers=agent) as r:
                        if r.status == 503:
                            busy[0] += 1
                            await asyncio.sleep(0.2)
                            continue
                        assert r.status == 201, await r.text()
                        answered = time.perf_counter()
                        break
                try:
                    arrival = await asyncio.wait_for(arrived, 30)
                    latencies.append(arrival - sent)
                    pushes.append(max(0.0, arrival - answered))
                except asyncio.TimeoutError:
                    lost[0] += 1
                await asyncio.sleep(random.uniform(1.0, 3.0))  # the agent reads, thinks, types: ~50 replies/s in all

        began = time.perf_counter()
        await asyncio.gather(*(converse(i, cid, stream) for i, (cid, stream, _) in enumerate(active)))
        elapsed = time.perf_counter() - began
        for _, stream, task in active:
            task.cancel()
            stream.close()
    def q(p, samples=latencies):
        ordered = sorted(samples)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000 if ordered else float("nan")

    p95 = q(95)
    print(f"  agent post -> customer's stream, {conversations} active conversations with {idle_streams} idle streams "
          f"open: {len(latencies) / elapsed:.1f}/s  p50 {q(50):.1f} ms  p95 {p95:.1f} ms  p99 {q(99):.1f} ms  "
          f"(n={len(latencies)}, never arrived {lost[0]}, posts retried after a 503 {busy[0]})", flush=True)
    print(f"  of which the push (the POST answered -> on the stream): p50 {q(50, pushes):.1f} ms  p95 {q(95, pushes):.1f} ms"
          f"  p99 {q(99, pushes):.1f} ms", flush=True)
    print(f"  p95 aim < {AIM_P95 * 1000:.0f} ms: {'met' if p95 < AIM_P95 * 1000 and not lost[0] else 'NOT met'}", flush=True)
    for stream in streams:
        stream.close()
    results.update(p50_ms=q(50), p95_ms=p95, p99_ms=q(99), push_p95_ms=q(95, pushes), lost=lost[0])
    return results


def run(idle_streams=5000, conversations=100, seconds=None, idle_seconds=40.0):
    import redis

    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from bench.common import bench_amqp_uri, bench_database
    from services.chat.config import MIGRATIONS_DIR as CHAT_MIGRATIONS
    from services.tracker_gateway import config as gateway_config
    from services.tracker_gateway.accounts import tenants
    from services.tracker_gateway.config import MIGRATIONS_DIR as GATEWAY_MIGRATIONS
    from shared.testing import ROOT, ServiceProcess, free_port, http_ok, wait_for

    seconds = seconds or float(os.environ.get("BENCH_CHAT_STREAMS_SECONDS", 30))
    amqp_uri = bench_amqp_uri()
    chat_db = bench_database("deskline_chat_streams", CHAT_MIGRATIONS)
    gateway_db = bench_database("deskline_gateway_streams", GATEWAY_MIGRATIONS)
    engine = sa.create_engine(gateway_db)
    with Session(engine) as session:  # as bench.gateway's make_tenant (which patches eventlet on import)
        tenants.create_client(session, "Bench", "bench")
        tenants.create_agent(session, "bench", AGENT_EMAIL, "Bench agent", "admin", AGENT_PASSWORD)
        session.commit()
    engine.dispose()
    redis_url, prefix = "redis://127.0.0.1:6379/1", "bench:streams:"
    ports = {"gateway": free_port(), "stream": free_port()}
    many = str(10**9)
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "AMQP_URI": amqp_uri, "GATEWAY_DATABASE_URL": gateway_db,
        "REDIS_URL": redis_url, "GATEWAY_REDIS_PREFIX": prefix, "GATEWAY_PORT": str(ports["gateway"]),
        "CHAT_STREAM_PORT": str(ports["stream"]), "RPC_TIMEOUT": "30", "LOG_LEVEL": "WARNING",
        # Every customer comes from 127.0.0.1 here: the per-address limits would stop the benchmark.
        "CHAT_STARTS_PER_IP": many, "CHAT_POSTS_PER_IP": many, "CHAT_READS_PER_IP": many,
        "CHAT_STREAMS_PER_IP": many,
    }
    config = gateway_config.load({"JWT_SECRET": gateway_config.DEV_JWT_SECRET})
    chat = ServiceProcess("chat", {"CHAT_DATABASE_URL": chat_db}, amqp_uri, "/tmp/deskline-bench-streams-chat.log")
    logs = [open(f"/tmp/deskline-bench-streams-{name}.log", "wb") for name in ("gateway", "server")]
    processes = []
    try:
        chat.start()
        processes.append(subprocess.Popen([sys.executable, "-m", "services.tracker_gateway", "run"], cwd=ROOT, env=env,
                                          stdout=logs[0], stderr=subprocess.STDOUT))
        processes.append(subprocess.Popen([sys.executable, "-m", "services.tracker_gateway", "chat-stream"], cwd=ROOT,
                                          env=env, stdout=logs[1], stderr=subprocess.STDOUT))
        wait_for(lambda: http_ok(f"http://127.0.0.1:{ports['gateway']}/healthz"), timeout=180, interval=0.2,
                 message="gunicorn")
        wait_for(lambda: http_ok(f"http://127.0.0.1:{ports['stream']}/healthz"), timeout=180, interval=0.2,
                 message="the stream server")
        return asyncio.run(measure(ports, config, processes[1].pid, idle_streams, conversations, seconds, idle_seconds))
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        chat.stop()
        store = redis.Redis.from_url(redis_url)
        for key in store.scan_iter(match=f"{prefix}*", count=1000):
            store.delete(key)
        store.close()


def main():
    """From `make bench` (an eventlet-patched process): in a process of its own, where asyncio is itself."""
    subprocess.run([sys.executable, "-m", "bench.chat_streams"], check=True)


if __name__ == "__main__":
    started_at = time.perf_counter()
    run()
    print(f"(chat streams benchmark took {time.perf_counter() - started_at:.0f} s)")
