#!/usr/bin/env bash
# Make sure the local PostgreSQL, RabbitMQ (with its management API, used by the test fixtures)
# and Redis answer; start whichever does not. Safe to run any number of times.
set -euo pipefail

wait_for() {  # wait_for <what> <command...>: up to 60 s
    local what=$1; shift
    for _ in $(seq 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
    echo "ensure-infra: $what did not come up" >&2; return 1
}

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "ensure-infra: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    echo "ensure-infra: starting RabbitMQ"
    rabbitmq-server -detached
    wait_for RabbitMQ rabbitmqctl -q await_startup
elif ! rabbitmqctl -q await_startup --timeout 1 >/dev/null 2>&1; then
    # The node runs but its application was stopped (as a test does to simulate an outage).
    rabbitmqctl -q start_app
fi
if ! rabbitmq-plugins -q is_enabled rabbitmq_management >/dev/null 2>&1; then
    rabbitmq-plugins -q enable rabbitmq_management
fi
wait_for "RabbitMQ management API" curl -sf -u guest:guest http://127.0.0.1:15672/api/overview

if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    echo "ensure-infra: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    wait_for Redis redis-cli -h 127.0.0.1 ping
fi
