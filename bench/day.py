"""`make bench-day`: a day of tickets through the whole system, as `make run` starts it.

Every deploy/Procfile process under supervisord (deploy/run.sh's configuration) on databases, a
RabbitMQ vhost and a Redis prefix of the benchmark's own, the notifier on SMTP to a local sink (an
aiosmtpd server counting what arrives). 16 keep-alive connections create tickets over HTTP for
BENCH_DAY_SECONDS (default 60), then the system drains: every ticket numbered, stored, its event
through the outbox, projected for the tracker, seen by chat, and its e-mail accepted by the sink.

Printed: creates/s and p50/p99 at the edge, tickets/s end to end, CPU ms per ticket per process
(from /proc: each service's process tree, the PostgreSQL backends of the benchmark's databases, and
RabbitMQ's and Redis's processes less their rate in the quiet seconds before the load, since other
work on the machine shares them; beside it, each process's CPU above its own idle rate - timers,
heartbeats - which a busy neighbour inflates per ticket by slowing the run down), e-mails missing and duplicated (both must be 0), and minutes for
150,000 tickets at that CPU cost on this machine's cores.

    make bench-day                        # 60 s of creates
    BENCH_DAY_SECONDS=15 make bench-day   # a quicker look
    BENCH_DAY_PROFILE=/tmp/prof make bench-day   # also py-spy each service during the load (raw stacks)

With BENCH_DAY_PROFILE, py-spy samples every service process through the load (which costs CPU of
its own: its run's figures are not comparable) and writes one collapsed-stack file per process
there; `python -m bench.day top FILE` prints the functions the samples were spent in.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from shared.platform.green import patch

patch()  # first: the load's callers are green threads
import eventlet  # noqa: E402
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from bench.common import BENCH_SUFFIX, bench_amqp_uri, percentile  # noqa: E402
from services.tracker_gateway.projector.read_model import TrackerView  # noqa: E402
from shared.testing import ROOT, free_port, wait_for, wait_until_answers  # noqa: E402

SECONDS = float(os.environ.get("BENCH_DAY_SECONDS", "60"))
PROFILE_DIR = os.environ.get("BENCH_DAY_PROFILE")
CONNECTIONS = int(os.environ.get("BENCH_DAY_CONNECTIONS", "16"))
# How long the system may go without finishing one more ticket during the drain before we give up.
DRAIN_STALL_SECONDS = 60
DAY = 150_000
SERVICES_WITH_DATABASES = ("tickets", "notifier", "tracker_gateway", "chat")
DATABASE_ENV = {"tickets": "TICKETS_DATABASE_URL", "notifier": "NOTIFIER_DATABASE_URL",
                "tracker_gateway": "GATEWAY_DATABASE_URL", "chat": "CHAT_DATABASE_URL"}
REDIS_URL = "redis://127.0.0.1:6379/1"
REDIS_PREFIX = f"bench:day{BENCH_SUFFIX}:"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@day.example", "bench-day password, not a secret"
TICKS = os.sysconf("SC_CLK_TCK")
RECIPIENT = re.compile(r"^c(\d+)@day\.example$")


class Sink:
    """The mail server the notifier sends to: every message's Message-ID and recipients, counted."""

    def __init__(self):
        self.port = free_port()
        self.message_ids = Counter()
        self.recipients = Counter()
        self.last_arrival = None
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        head = envelope.content[:8192].decode(errors="replace")
        found = re.search(r"^Message-ID:\s*(\S+)", head, re.MULTILINE | re.IGNORECASE)
        self.message_ids[found.group(1) if found else None] += 1
        for rcpt in envelope.rcpt_tos:
            self.recipients[rcpt.lower()] += 1
        self.last_arrival = time.perf_counter()
        return "250 2.0.0 Ok"


def cpu_ticks(pid):
    """utime + stime of one process, in clock ticks (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return int(fields[11]) + int(fields[12])


def children_map():
    parents = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            parents[ppid].append(int(entry))
    return parents


def tree(pid, parents):
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, ()))
    return found


def pids_named(name):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == name:
                    found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


class CpuMeter:
    """CPU time per named group of processes between `start()` and `stop()`, sampled twice a second so
    that processes that come and go (a pool's new connection) are counted up to their last sample."""

    def __init__(self, groups):
        self.groups = groups  # name -> callable returning that group's pids now
        self.first, self.last, self.group_of = {}, {}, {}
        self.running = False

    def sample(self, initial=False):
        for name, pids in self.groups.items():
            for pid in pids():
                ticks = cpu_ticks(pid)
                if ticks is None:
                    continue
                self.group_of.setdefault(pid, name)
                if pid not in self.first:
                    self.first[pid] = ticks if initial else 0  # born during the run: all of it counts
                self.last[pid] = ticks

    def start(self):
        self.first, self.last, self.group_of = {}, {}, {}
        self.sample(initial=True)
        self.started = time.perf_counter()
        self.running = True
        self.thread = eventlet.spawn(self._loop)

    def _loop(self):
        while self.running:
            eventlet.sleep(0.5)
            self.sample()

    def stop(self):
        self.running = False
        self.thread.wait()
        self.sample()
        elapsed = time.perf_counter() - self.started
        totals = defaultdict(float)
        for pid, name in self.group_of.items():
            totals[name] += (self.last[pid] - self.first[pid]) * 1000 / TICKS
        return dict(totals), elapsed


class System:
    """The Procfile's processes under supervisord, with the benchmark's environment."""

    def __init__(self, env):
        self.env = env
        self.run_dir = Path(f"/tmp/deskline-day{BENCH_SUFFIX}")
        self.log_path = self.run_dir / "system.log"
        self.process = None

    def start(self):
        self.run_dir.mkdir(parents=True, exist_ok=True)
        python = Path(sys.executable)
        subprocess.run([python, "deploy/supervisord_conf.py", str(self.run_dir)], cwd=ROOT, env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([python.parent / "supervisord", "-c", str(self.run_dir / "supervisord.conf")],
                                        cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def programs(self):
        """{program name: its process tree's pids}, from supervisord's children."""
        parents = children_map()
        found = defaultdict(list)
        for child in parents.get(self.process.pid, ()):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            name = program_name(command)
            found[name].extend(tree(child, parents))
        return found

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def program_name(command):
    text = b" ".join(command).decode(errors="replace")
    for module, name in (("services.tracker_gateway.projector", "tracker projector"), ("inbound-smtp", "inbound smtp"),
                         ("services.tracker_gateway", "gateway (gunicorn)"), ("gunicorn", "gateway (gunicorn)"),
                         ("services.tickets", "tickets"), ("services.notifier", "notifier"),
                         ("services.chat", "chat")):
        if module in text:
            return name
    return text[:40]


def postgres_backends(databases):
    engine = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", pool_size=1)

    def pids():
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(
                sa.text("SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"),
                {"names": list(databases)})]
    return pids, engine


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port, token=None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, path, body=None):
        self.connection.request(method, path, body=json.dumps(body) if body is not None else None,
                                headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)


def answers(port, path="/readyz"):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False


def create_load(port, token, seconds, connections, first):
    """`connections` callers creating tickets for `seconds`; returns (latencies, created customers' addresses,
    their ticket numbers, failures, elapsed seconds)."""
    latencies, created, numbers, failures = [], [], [], Counter()
    counter = iter(range(first, 10**9))
    deadline = time.perf_counter() + seconds

    def caller():
        client = Client(port, token)
        while time.perf_counter() < deadline:
            email = f"c{next(counter)}@day.example"
            started = time.perf_counter()
            try:
                status, body = client.request("POST", "/api/entities/ticket", {
                    "title": "A day of tickets", "description": "Created by bench/day.py.", "customer_email": email})
            except (OSError, http.client.HTTPException) as exc:
                failures[type(exc).__name__] += 1
                client = Client(port, token)
                continue
            latencies.append(time.perf_counter() - started)
            if status == 201:
                created.append(email)
                numbers.append(body["ticket_number"])
            else:
                failures[status] += 1

    pool = eventlet.GreenPool(connections)
    started = time.perf_counter()
    for _ in range(connections):
        pool.spawn(caller)
    pool.waitall()
    return latencies, created, numbers, failures, time.perf_counter() - started


def wait_drained(sink, created):
    """Until every created ticket's e-mail arrived; returns when the last did (None: it stalled)."""
    wanted = {email.lower() for email in created}
    last_progress, last_count = time.perf_counter(), -1
    while True:
        arrived = sum(1 for email in wanted if sink.recipients[email])
        if arrived == len(wanted):
            return sink.last_arrival
        if arrived != last_count:
            last_progress, last_count = time.perf_counter(), arrived
        if time.perf_counter() - last_progress > DRAIN_STALL_SECONDS:
            return None
        eventlet.sleep(0.2)


def wait_projected(store, numbers, timeout=60):
    """How many of these tickets the tracker projector has not stored (0 once it caught up)."""
    view = TrackerView(store, REDIS_PREFIX, digest_key="")  # only its key names are used
    deadline = time.monotonic() + timeout
    while True:
        pipe = store.pipeline(transaction=False)
        for number in numbers:
            pipe.exists(view.clients_key(number))
        left = sum(1 for found in pipe.execute() if not found)
        if not left or time.monotonic() > deadline:
            return left
        eventlet.sleep(0.5)


def start_profilers(system, seconds):
    """py-spy on each service's process (gunicorn: its workers too) for the load's duration."""
    spy = Path(sys.executable).parent / "py-spy"
    Path(PROFILE_DIR).mkdir(parents=True, exist_ok=True)
    parents = children_map()
    profilers = []
    for child in parents.get(system.process.pid, ()):
        name = program_name(Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0"))
        if name == "inbound smtp":
            continue
        out = Path(PROFILE_DIR) / (name.split()[0] + ".txt")
        profilers.append(subprocess.Popen(
            [spy, "record", "--pid", str(child), "--duration", str(int(seconds)), "--rate", "50", "--format", "raw",
             "--subprocesses", "--nonblocking", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return profilers


def top(path, count=40):
    """The functions a py-spy raw profile spent its samples in: own time and time including callees."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        samples = int(samples)
        total += samples
        frames = [frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    print(f"{path}: {total} samples\n-- own --")
    for frame, samples in own.most_common(count):
        print(f"{samples / total * 100:5.1f}%  {frame}")
    print("-- including callees --")
    for frame, samples in inclusive.most_common(count * 2):
        print(f"{samples / total * 100:5.1f}%  {frame}")


def main():
    print(f"\n== bench-day: the whole system (deploy/Procfile under supervisord), {CONNECTIONS} connections, "
          f"{SECONDS:g} s of creates, then drain; {os.cpu_count()} cores ==", flush=True)
    amqp_uri = bench_amqp_uri(f"deskline_day{BENCH_SUFFIX}")
    urls = {svc: f"postgresql+psycopg2://postgres@127.0.0.1:5432/deskline_{svc}_day{BENCH_SUFFIX}"
            for svc in SERVICES_WITH_DATABASES}
    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for url in urls.values():
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))
    admin.dispose()
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
        store.delete(key)
    sink = Sink()
    sink.controller.start()
    port = free_port()
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "AMQP_URI": amqp_uri,
        **{DATABASE_ENV[svc]: url for svc, url in urls.items()},
        "REDIS_URL": REDIS_URL, "GATEWAY_REDIS_PREFIX": REDIS_PREFIX, "GATEWAY_PORT": str(port),
        "INBOUND_SMTP_PORT": str(free_port()),
        "EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
        "ADMIN_EMAIL": ADMIN_EMAIL, "ADMIN_PASSWORD": ADMIN_PASSWORD, "LOG_LEVEL": "WARNING",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("METRICS_PORT", None)
    # `make migrate` and `make bootstrap`, on the benchmark's databases, vhost and prefix.
    for svc in SERVICES_WITH_DATABASES:
        subprocess.run([sys.executable, "-m", f"services.{svc}", "migrate"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "services.tracker_gateway", "bootstrap"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    system = System(env)
    backends, pg_engine = postgres_backends([sa.engine.make_url(url).database for url in urls.values()])
    try:
        system.start()
        wait_for(lambda: answers(port), timeout=60, interval=0.3, message="the gateway's /readyz")
        for service in ("notifier", "chat"):
            wait_until_answers(amqp_uri, service, timeout=60)
        wait_for(lambda: len(system.programs()) >= 6, timeout=30, message="every Procfile process")
        client = Client(port)
        status, body = client.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert status == 200, body
        token = body["access_token"]

        # Warm-up: every worker's connections, pools and templates; its e-mails drain before measuring.
        _, warm, _, _, _ = create_load(port, token, 3, CONNECTIONS, 10**8)
        wait_for(lambda: all(sink.recipients[email] for email in warm), timeout=120, message="the warm-up's e-mails")

        groups = {name: (lambda name=name: system.programs().get(name, [])) for name in system.programs()}
        groups["PostgreSQL (our backends)"] = backends
        shared = {"RabbitMQ": lambda: pids_named("beam.smp"), "Redis": lambda: pids_named("redis-server")}
        groups.update(shared)
        groups["load generator (not counted)"] = lambda: [os.getpid()]
        meter = CpuMeter(groups)
        # The shared brokers' rate while the system idles: other helpers' work, subtracted below.
        meter.start()
        eventlet.sleep(10)
        quiet, quiet_seconds = meter.stop()

        profilers = start_profilers(system, SECONDS) if PROFILE_DIR else []
        meter.start()
        latencies, created, numbers, failures, elapsed = create_load(port, token, SECONDS, CONNECTIONS, 0)
        load_cpu, _ = meter.stop()
        for profiler in profilers:
            profiler.wait(60)
        meter.start()
        started = meter.started - elapsed
        last = wait_drained(sink, created)
        # The tracker's read model has them too (the projector is a consumer like the notifier).
        unprojected = wait_projected(store, numbers)
        eventlet.sleep(2)  # late duplicates
        drain_cpu, drain_seconds = meter.stop()
        total_seconds = elapsed + drain_seconds
    finally:
        system.stop()
        sink.controller.stop()
        pg_engine.dispose()
        for key in store.scan_iter(match=f"{REDIS_PREFIX}*", count=1000):
            store.delete(key)
        store.close()

    n = len(created)
    print(f"created {n} tickets in {elapsed:.1f} s: {n / elapsed:.1f} creates/s at the edge, "
          f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms"
          + (f"; failures {dict(failures)}" if failures else ""), flush=True)
    if last is None:
        print(f"NOT drained: the system stalled for {DRAIN_STALL_SECONDS} s", flush=True)
        end_to_end = None
    else:
        end_to_end = last - started
        print(f"end to end (last e-mail accepted {end_to_end - elapsed:.1f} s after the last create): "
              f"{n / end_to_end:.1f} tickets/s", flush=True)
    wanted = Counter(email.lower() for email in created)
    missing = sum(1 for email in wanted if not sink.recipients[email])
    duplicated = sum(count - 1 for email, count in sink.recipients.items() if email in wanted and count > 1)
    duplicated_ids = sum(count - 1 for message_id, count in sink.message_ids.items() if count > 1)
    print(f"tracker read model: {n - unprojected} of {n} tickets projected", flush=True)
    print(f"e-mails: {sum(sink.recipients[e] for e in wanted)} for {n} tickets; missing {missing}, "
          f"duplicated {duplicated} (by recipient), {duplicated_ids} (by Message-ID)", flush=True)

    print(f"\n{'process':<30} {'CPU ms/ticket':>14} {'above idle':>11}   (load {elapsed:.0f} s + drain "
          f"{drain_seconds:.0f} s; idle rate from {quiet_seconds:.0f} quiet seconds before)")
    total = above_total = 0.0
    rows, above = {}, {}
    for name in groups:
        used = load_cpu.get(name, 0.0) + drain_cpu.get(name, 0.0)
        idle = quiet.get(name, 0.0) / quiet_seconds * total_seconds
        note = f"idle {quiet.get(name, 0.0) / quiet_seconds:5.1f} ms/s"
        if name in shared:  # other work on the machine goes through them too: only what is above idle
            used, note = max(used - idle, 0.0), note + " (others' work too: counted above idle only)"
        rows[name] = used / max(n, 1)
        above[name] = max(used - (0.0 if name in shared else idle), 0.0) / max(n, 1)
        if "not counted" not in name:
            total += rows[name]
            above_total += above[name]
        print(f"{name:<30} {rows[name]:14.2f} {above[name]:11.2f}   {note}", flush=True)
    print(f"{'total':<30} {total:14.2f} {above_total:11.2f}", flush=True)
    cores = os.cpu_count()
    if total:
        print(f"at this CPU cost, {cores} cores make {cores * 1000 / total:.0f} tickets/s: "
              f"{DAY:,} tickets in {DAY / (cores * 1000 / total) / 60:.1f} minutes", flush=True)
    if end_to_end:
        print(f"at the measured end-to-end rate: {DAY:,} tickets in {DAY / (n / end_to_end) / 60:.1f} minutes",
              flush=True)
    return {"created": n, "rate": n / elapsed, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "end_to_end": n / end_to_end if end_to_end else None, "cpu": rows, "total_cpu": total,
            "cpu_above_idle": above_total,
            "missing": missing, "duplicated": duplicated + duplicated_ids}


if __name__ == "__main__":
    if sys.argv[1:2] == ["top"]:
        for path in sys.argv[2:]:
            top(path)
    else:
        main()
