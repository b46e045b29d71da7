"""`make run` under supervisord (deploy/run.sh, its configuration written from deploy/Procfile): a service
killed with SIGKILL comes back, with a log line, while the gateway keeps answering; one that keeps failing
is retried with growing pauses; Ctrl-C stops every process, gunicorn's workers included."""
import configparser
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from shared.testing import ROOT, http_ok, wait_for
from tests.deploy.conftest import VENV_BIN, free_port
from tests.deploy.test_deploy_scaled import procfile
from tests.fixtures.gateway import TEST_REDIS_URL
from tests.fixtures.notifier import notifier_process_env

sys.path.insert(0, str(ROOT / "deploy"))
import supervisord_conf  # noqa: E402  (deploy/ is scripts, not a package)


def children(pid):
    """Every live descendant of `pid` (from /proc): a service's own children too (gunicorn workers)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Supervised:
    """deploy/run.sh as `make run` starts it, in a session of its own (Ctrl-C is SIGINT to that group)."""

    def __init__(self, tmp_path, env, procfile_path=None):
        self.run_dir = tmp_path / "run"
        self.log_path = tmp_path / "run.log"
        self.env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
                    "DESKLINE_RUN_DIR": str(self.run_dir), "PYTHON": sys.executable, **env}
        self.procfile_path = procfile_path

    def start(self):
        self.log = open(self.log_path, "ab")
        command = [str(ROOT / "deploy" / "run.sh")]
        if self.procfile_path:  # the same two steps, over another Procfile
            command = ["sh", "-c", f'"$PYTHON" deploy/supervisord_conf.py "$DESKLINE_RUN_DIR" --procfile '
                                   f'"{self.procfile_path}" >/dev/null && exec supervisord -c '
                                   f'"$DESKLINE_RUN_DIR/supervisord.conf"']
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        return self

    def output(self):
        return self.log_path.read_text(errors="replace")

    def ctl(self, *args):
        done = subprocess.run([f"{VENV_BIN}/supervisorctl", "-c", str(self.run_dir / "supervisord.conf"), *args],
                              capture_output=True, text=True, timeout=30)
        return done.stdout

    def pid(self, name):
        text = self.ctl("pid", f"{supervisord_conf.GROUP}:{name}").strip()
        return int(text) if text.isdigit() and text != "0" else None

    def states(self):
        return dict(re.findall(r"^\S+:(\S+)\s+(\S+)", self.ctl("status"), re.M))

    def stop(self):
        # Its descendants first: once supervisord is gone they belong to init, and a service left running
        # would consume the next tests' events from the same virtual host.
        descendants = children(self.process.pid)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in descendants:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()


def test_make_run_and_run_scaled_start_the_procfile_under_supervisord():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run: .*\n\tdeploy/run\.sh$", makefile, re.M)
    assert re.search(r'^run-scaled: .*\n\t.*SCALE="\$\(SCALE\)" deploy/run\.sh$', makefile, re.M)
    assert "honcho" not in makefile


def test_the_configuration_supervises_each_procfile_process(tmp_path):
    processes = supervisord_conf.read_procfile(ROOT / "deploy" / "Procfile")
    config = configparser.RawConfigParser()
    config.read_string(supervisord_conf.render(processes, tmp_path, scale={"gateway": 2, "chat": 0}))
    programs = {section.split(":", 1)[1]: config[section] for section in config if section.startswith("program:")}
    assert set(programs) == set(procfile()) - {"chat"}
    assert config[f"group:{supervisord_conf.GROUP}"]["programs"].split(",") == list(programs)
    for name, program in programs.items():
        assert program["command"] == dict(processes)[name]
        assert (program["autorestart"], program["stopasgroup"], program["killasgroup"]) == ("true",) * 3
        assert int(program["startretries"]) >= 10 and int(program["stopwaitsecs"]) > 20
    assert programs["gateway"]["numprocs"] == "2" and "%(process_num)s" in programs["gateway"]["process_name"]
    assert programs["tickets"]["numprocs"] == "1"
    with pytest.raises(SystemExit, match="bogus"):
        supervisord_conf.render(processes, tmp_path, scale={"bogus": 2})
    with pytest.raises(SystemExit, match="name=count"):
        supervisord_conf.parse_scale("gateway=two")


@pytest.mark.slow
def test_a_killed_service_comes_back_while_the_gateway_answers_and_ctrl_c_stops_everything(
        tmp_path, amqp_uri, tickets_db, notifier_db, chat_db, gateway_db, redis_prefix, smtp_sink, tenants,
        token_for):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = Supervised(tmp_path, {
        **notifier_process_env(notifier_db, smtp_sink),
        "AMQP_URI": amqp_uri, "TICKETS_DATABASE_URL": tickets_db, "CHAT_DATABASE_URL": chat_db,
        "GATEWAY_DATABASE_URL": gateway_db, "REDIS_URL": TEST_REDIS_URL, "GATEWAY_REDIS_PREFIX": redis_prefix,
        "GATEWAY_PORT": str(port), "GATEWAY_WORKERS": "2", "GATEWAY_THREADS": "4",
        "GATEWAY_READY_SERVICES": "tickets", "RPC_TIMEOUT": "5", "GUNICORN_CMD_ARGS": "--no-control-socket",
        "CHAT_STREAM_PORT": str(free_port()),  # the customers' chat stream server: not 8001, which `make run` may hold
        "INBOUND_SMTP_PORT": str(free_port()),  # the SMTP receiver: not 2525, likewise
    }).start()
    try:
        wait_for(lambda: http_ok(f"{base}/readyz", run.process, run.log_path), timeout=60, interval=0.2,
                 message="the gateway to be ready, tickets answering")
        wait_for(lambda: set(run.states().values()) == {"RUNNING"} and len(run.states()) == len(procfile()),
                 timeout=30, interval=0.3, message="every process RUNNING")
        headers = {"Authorization": f"Bearer {token_for(tenants[0])}"}
        everything = [run.process.pid, *children(run.process.pid)]

        # The gateway answers all along, however long tickets is away.
        answers, polling = [], threading.Event()

        def poll():
            while not polling.is_set():
                try:
                    answers.append(requests.get(f"{base}/healthz", timeout=5).status_code)
                except requests.RequestException as exc:
                    answers.append(repr(exc))
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        killed = run.pid("tickets")
        os.kill(killed, signal.SIGKILL)
        wait_for(lambda: "exited: tickets (terminated by SIGKILL; not expected)" in run.output(), timeout=10,
                 message="supervisord to log the crash")
        wait_for(lambda: run.pid("tickets") not in (None, killed), timeout=20, interval=0.2,
                 message="tickets to be started again")
        assert re.search(r"spawned: 'tickets' with pid \d+", run.output().split("exited: tickets", 1)[1])
        # Back in service: a create goes through the gateway to the new tickets process.
        created = wait_for(lambda: (lambda r: r if r.status_code == 201 else None)(
            requests.post(f"{base}/api/entities/ticket", headers=headers, timeout=10,
                          json={"title": "After the crash", "description": "d"})), timeout=30, interval=0.5,
            message="a create after the restart")
        assert created.json()["ticket_number"].startswith("TKT-")
        polling.set()
        poller.join()
        assert answers and set(answers) == {200}, answers
        others = {name: pid for name in procfile() if name != "tickets" for pid in [run.pid(name)]}
        assert all(pid in everything for pid in others.values())  # nobody else was restarted

        everything += children(run.process.pid)
        started = time.monotonic()
        os.killpg(run.process.pid, signal.SIGINT)  # Ctrl-C
        assert run.process.wait(40) == 0, run.output()
        took = time.monotonic() - started
        wait_for(lambda: not [pid for pid in everything if alive(pid)], timeout=5, message="every process gone")
        assert "SIGKILL" not in run.output().split("received SIGINT", 1)[1]  # none had to be killed
        assert took < 20, f"stopping took {took:.1f}s"
    finally:
        run.stop()


@pytest.mark.slow
def test_a_process_that_keeps_failing_is_retried_with_growing_pauses_while_the_others_run(tmp_path):
    procfile_path = tmp_path / "Procfile"
    procfile_path.write_text(f"steady: {sys.executable} -c 'import time; time.sleep(120)'\n"
                             f"flaky: {sys.executable} -c 'import sys; sys.exit(3)'\n")
    run = Supervised(tmp_path, {}, procfile_path).start()
    try:
        spawns = lambda: [m.group(1) for m in re.finditer(r"^(\S+ \S+) INFO spawned: 'flaky'", run.output(), re.M)]
        wait_for(lambda: len(spawns()) >= 4, timeout=20, interval=0.2, message="four starts of the flaky process")
        assert "exited: flaky (exit status 3; not expected)" in run.output()
        times = [time.mktime(time.strptime(t.split(",")[0], "%Y-%m-%d %H:%M:%S")) + int(t.split(",")[1]) / 1000
                 for t in spawns()[:4]]
        pauses = [later - earlier for earlier, later in zip(times, times[1:])]
        # supervisord's back-off: 1 s, 2 s, 3 s... (plus its one-second tick).
        assert pauses[0] >= 0.9 and pauses[1] >= 1.9 and pauses[2] >= 2.9, pauses
        assert run.states()["steady"] == "RUNNING" and run.output().count("spawned: 'steady'") == 1
        os.killpg(run.process.pid, signal.SIGINT)
        assert run.process.wait(30) == 0, run.output()
        assert not [pid for pid in children(run.process.pid) if alive(pid)]
    finally:
        run.stop()
