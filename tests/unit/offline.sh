#!/usr/bin/env bash
# Run a command with no network but loopback (a network namespace of its own), so that PostgreSQL,
# RabbitMQ and Redis are really out of its reach: `make test-fast` runs the unit tier this way.
# As root `unshare -n` does; otherwise an unprivileged user namespace (`unshare -rn`) if the kernel
# allows one. Where neither works the command runs as it is, and says so: the guard in
# tests/unit/conftest.py still fails any test that reaches a service.
set -euo pipefail

for flags in -n -rn; do
    if unshare "$flags" ip link set lo up 2>/dev/null; then
        exec unshare "$flags" bash -c 'ip link set lo up && exec "$@"' offline "$@"
    fi
done
echo "offline.sh: cannot make a network namespace here (unshare refused); running with the network," \
     "the unit tier's guard still refuses the services" >&2
exec "$@"
