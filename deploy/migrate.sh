#!/bin/sh
# The deploy step that runs before any service starts (compose's `migrate`, Kubernetes' Job): create
# or upgrade each service's database, declare the durable event queues of the consumers (so that no
# event published by a service starting next is dropped for want of a queue), then create the
# gateway's first client and admin. Idempotent: run it on every release, one at a time.
set -eu
for service in tickets notifier chat tracker_gateway; do
    python -m "services.$service" migrate
done
python -m services.tracker_gateway bootstrap
