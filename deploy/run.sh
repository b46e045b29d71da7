#!/bin/sh
# `make run`'s foreground part: every deploy/Procfile process under supervisord, with the configuration
# deploy/supervisord_conf.py writes from the Procfile (SCALE=name=count,... for several instances).
# supervisord restarts a process that dies, with back-off and a log line, while the others keep
# serving; Ctrl-C (SIGINT) or SIGTERM stops them all. Its socket and pid file go to DESKLINE_RUN_DIR
# (default .run/): `.venv/bin/supervisorctl -c .run/supervisord.conf status` shows each process.
set -eu
cd "$(dirname "$0")/.."
run_dir=${DESKLINE_RUN_DIR:-$PWD/.run}
python=${PYTHON:-.venv/bin/python}
"$python" deploy/supervisord_conf.py "$run_dir" --scale "${SCALE:-}" >/dev/null
exec "$(dirname "$python")/supervisord" -c "$run_dir/supervisord.conf"
