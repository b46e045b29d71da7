"""The projector's commands: run it, or declare its event queues (the gateway's migrate does that too)."""
import argparse
import logging
import logging.config

from services.tracker_gateway.projector.config import nameko_config
from services.tracker_gateway.projector.service import TrackerProjector

log = logging.getLogger("tracker_projector")


def declare_queues():
    from shared.platform.queues import declare_event_queues

    names = declare_event_queues(TrackerProjector, nameko_config())
    log.info("event queues declared: %s", ", ".join(names))


def run():
    from nameko.cli.run import run as run_services

    from shared.platform import runtime

    runtime.init()
    run_services([TrackerProjector], nameko_config())


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m services.tracker_gateway.projector")
    parser.add_argument("command", nargs="?", default="run", choices=("run", "migrate"))
    args = parser.parse_args(argv)
    logging.config.dictConfig(nameko_config()["LOGGING"])
    if args.command == "migrate":
        return declare_queues()
    return run()
