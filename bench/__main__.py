"""`make bench`: every service's benchmark in turn, each printing its own figures."""
import importlib
import os
import platform
import sys

from shared.platform.green import patch

patch()  # first: monkey patching

# bench.day first: the whole system as users run it (the others each run a part, and say which).
BENCHMARKS = ["bench.day", "bench.tickets", "bench.gateway", "bench.ticket_list", "bench.notifier", "bench.inbound",
              "bench.chat", "bench.workflow", "bench.sla", "bench.reports", "bench.webhooks", "bench.chat_streams",
              "bench.idle"]

print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
# `python -m bench idle chat_streams` names them short too.
selected = [name if name.startswith("bench.") else f"bench.{name}" for name in sys.argv[1:]] or BENCHMARKS
for name in selected:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        print(f"(no {name} yet)")
        continue
    module.main()
