"""`python -m services.tracker_gateway.projector [run|migrate]`: the tracker projector, or the declaration
of its durable event queues (so that ticket events wait for it until it first runs)."""
import sys

from shared.platform.green import patch

patch()  # first: a nameko (eventlet) process

from services.tracker_gateway.projector.cli import main  # noqa: E402

main(sys.argv[1:])
