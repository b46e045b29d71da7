"""Idle benchmark: the whole system at rest, as `make run` starts it, and the CPU each process uses
when nothing happens (every timer, relay, retry scheduler, consumer and ping). `python -m bench idle`
(or `python -m bench.idle [SECONDS]`), also in `make bench`.

The Procfile's processes run under supervisord exactly as deploy/run.sh runs them, on a vhost,
databases, Redis prefix and ports of their own (so a running system is not disturbed). After they
answer (and SETTLE_SECONDS more, for start-up work: the directory's publication, the projector's
backfill), each process tree's CPU time (user + system, /proc, its children included: gunicorn's
workers) is read at the start and the end of the window. Aim: < 2% of one core in total.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

from bench.common import bench_amqp_uri
from shared.testing import ROOT, free_port, wait_for, wait_until_answers

SETTLE_SECONDS = 15.0
AIM_PERCENT = 2.0
TICKS = os.sysconf("SC_CLK_TCK")
DATABASES = {"TICKETS": "deskline_tickets", "NOTIFIER": "deskline_notifier", "GATEWAY": "deskline_gateway",
             "CHAT": "deskline_chat"}
MIGRATE = ("services.tickets", "services.notifier", "services.tracker_gateway", "services.chat")


def cpu_ticks(pid):
    """User + system clock ticks of one process (its threads included), or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def children():
    """{parent pid: [child pids]} of every process now."""
    tree = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid, tree):
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += tree.get(current, [])
    return found


def sample(programs, alone=("supervisord",)):
    """{program: {pid: ticks}} for each program's whole process tree (supervisord's own process alone:
    its children are the programs)."""
    tree = children()
    return {name: {pid: cpu_ticks(pid) for pid in ([root] if name in alone else descendants(root, tree))}
            for name, root in programs.items()}


def program_pids(python, conf):
    """{program: pid} from supervisorctl (the Procfile's names, plus supervisord itself)."""
    out = subprocess.run([str(Path(python).parent / "supervisorctl"), "-c", str(conf), "status"],
                         capture_output=True, text=True, timeout=30).stdout
    pids = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "RUNNING":
            pids[parts[0].split(":")[-1]] = int(parts[3].rstrip(","))
    return pids


def environment(amqp_uri, suffix, ports):
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "AMQP_URI": amqp_uri, "LOG_LEVEL": "WARNING",
        "REDIS_URL": "redis://127.0.0.1:6379/1", "GATEWAY_REDIS_PREFIX": f"bench:idle{suffix}:",
        "GATEWAY_PORT": str(ports["gateway"]), "CHAT_STREAM_PORT": str(ports["stream"]),
        "INBOUND_SMTP_PORT": str(ports["smtp"]), "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
        "ADMIN_PASSWORD": "idle-bench-password", "EMAIL_BACKEND": "console",
    }
    for service, database in DATABASES.items():
        env[f"{service}_DATABASE_URL"] = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}_idle{suffix}"
    return env


def drop_databases(env):
    admin = sa.create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for service in DATABASES:
            name = env[f"{service}_DATABASE_URL"].rsplit("/", 1)[1]
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_system(env, run_dir, log):
    """`make run` without make: migrate, bootstrap, then deploy/run.sh (supervisord over the Procfile)."""
    python = env.get("PYTHON", str(ROOT / ".venv" / "bin" / "python"))
    for module in MIGRATE:
        subprocess.run([python, "-m", module, "migrate"], cwd=ROOT, env=env, check=True, stdout=log, stderr=log)
    subprocess.run([python, "-m", "services.tracker_gateway", "bootstrap"], cwd=ROOT, env=env, check=True,
                   stdout=log, stderr=log)
    return subprocess.Popen(["deploy/run.sh"], cwd=ROOT, env={**env, "DESKLINE_RUN_DIR": str(run_dir)},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True), python


def measure(seconds=60.0, label=""):
    """Start the system, let it settle, measure `seconds` of rest; print and return {program: % of a core}."""
    suffix = os.environ.get("DESKLINE_BENCH_SUFFIX", "")
    amqp_uri = bench_amqp_uri(f"deskline_bench_idle{suffix}")
    ports = {"gateway": free_port(), "stream": free_port(), "smtp": free_port()}
    env = environment(amqp_uri, suffix, ports)
    drop_databases(env)
    run_dir = Path(tempfile.mkdtemp(prefix="deskline-idle-"))
    log_path = Path("/tmp") / f"deskline-bench-idle{suffix}.log"
    with open(log_path, "wb") as log:
        supervisor, python = start_system(env, run_dir, log)
        try:
            base = f"http://127.0.0.1:{ports['gateway']}"
            wait_for(lambda: _ok(f"{base}/readyz"), timeout=90, interval=0.5, message="the gateway (see " + str(log_path) + ")")
            if "chat-stream" in (ROOT / "deploy" / "Procfile").read_text():
                wait_for(lambda: _ok(f"http://127.0.0.1:{ports['stream']}/healthz"), timeout=60, interval=0.5,
                         message="the chat stream server")
            for service in ("tickets", "notifier", "chat", "tracker_projector"):
                wait_until_answers(amqp_uri, service, timeout=60)
            time.sleep(SETTLE_SECONDS)  # start-up work ends (directory publication, backfill): rest from here
            programs = program_pids(python, run_dir / "supervisord.conf")
            programs["supervisord"] = supervisor.pid
            before, started = sample(programs), time.monotonic()
            time.sleep(seconds)
            after, elapsed = sample(programs), time.monotonic() - started
        finally:
            os.killpg(supervisor.pid, signal.SIGTERM)
            try:
                supervisor.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(supervisor.pid, signal.SIGKILL)
                supervisor.wait()
    drop_databases(env)
    results = {}
    for name in programs:
        ticks = sum(after[name][pid] - before[name].get(pid, 0) for pid in after[name]
                    if after[name][pid] is not None and before[name].get(pid) is not None)
        results[name] = 100.0 * ticks / TICKS / elapsed
    print(f"\n== idle{label}: the system at rest under supervisord (as `make run`), {elapsed:.0f} s measured, "
          f"% of one core (user + system, children included) ==", flush=True)
    for name, percent in sorted(results.items(), key=lambda item: -item[1]):
        print(f"  {name:<20} {percent:6.2f} %   (pids {sorted(after[name])})", flush=True)
    total = sum(results.values())
    print(f"  {'total':<20} {total:6.2f} %   aim < {AIM_PERCENT:.0f} %: {'met' if total < AIM_PERCENT else 'NOT met'}",
          flush=True)
    return results


def _ok(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def main(seconds=None):
    return measure(float(seconds or os.environ.get("BENCH_IDLE_SECONDS", 60)))


if __name__ == "__main__":
    main(*sys.argv[1:2])
