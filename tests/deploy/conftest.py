"""Helpers for the deploy tests: free ports, processes started the way the deploy files start them."""
import os
import signal
import subprocess
import sys

import pytest

from shared.testing import ROOT, free_port  # noqa: F401  (the deploy tests import it from here)

VENV_BIN = os.path.dirname(sys.executable)


def probe(*args, env=None, timeout=20):
    """Run `python -m shared.platform.probe ARGS`; (exit status, its one line)."""
    done = subprocess.run(
        [sys.executable, "-m", "shared.platform.probe", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    return done.returncode, (done.stdout + done.stderr).strip()


class Proc:
    """A process in its own session (so a kill reaches its children, as in a container), logging to a file."""

    def __init__(self, args, env, log_path):
        self.args, self.log_path = args, log_path
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{VENV_BIN}:{os.environ['PATH']}", **env}
        self.process = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, sig):
        os.killpg(self.process.pid, sig)

    def stop(self, timeout=25):
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait()
        if self.process is not None:
            try:  # children left behind by a killed parent (gunicorn workers)
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.log.close()

    def output(self):
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def procs():
    """Start processes with `procs(args, env, name)`; every one is stopped at the end of the test."""
    started = []

    def start(args, env, log_path):
        proc = Proc(args, env, log_path).start()
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()
