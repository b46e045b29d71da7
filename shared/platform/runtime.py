"""What every nameko service shares at run time: the ping probe and the command line."""
import argparse
import logging.config

import nameko.rpc
from nameko.amqp.publish import Publisher
from nameko.constants import NON_PERSISTENT
from nameko.rpc import rpc

from shared.platform import observability, queues, resilience
from shared.platform.observability import Observability


class ReplyPublisher(Publisher):
    """RPC replies: the caller is waiting for them, so they need neither disk (persistent delivery)
    nor publisher confirms. Events keep both. Measured in docs/performance.md."""

    use_confirms = False
    delivery_mode = NON_PERSISTENT
    # Broker away: one quick retry, then the reply is dropped (shared/platform/resilience.py) rather than
    # holding the worker for kombu's default 3 retries while the caller times out anyway.
    retry_policy = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}


def init():
    """What every nameko process changes in nameko before it starts its services (main() calls it;
    tests that run services in-process call it too). nameko has no setting for the reply publisher:
    its Responder publishes every reply with this class. Then the patches that let a service ride
    out a broker, database or Redis outage (resilience.py), this process's metrics, and the type of
    its event queues (queues.py: EVENT_QUEUE_TYPE)."""
    nameko.rpc.Responder.publisher_cls = ReplyPublisher
    queues.install()
    resilience.apply()
    observability.init()


class Pingable:
    """Mixin: `ping` answers when the service is up and consuming (readiness probes). Every service
    has it, so it also carries the correlation id and the metrics of each worker."""

    observability = Observability()

    @rpc
    def ping(self):
        return "pong"


def main(service_cls, nameko_config, migrations_dir, database_url, argv=None):
    """`python -m services.<name> [run|migrate]`: start the service, or migrate its database and
    declare its event queues."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{service_cls.name}")
    parser.add_argument("command", nargs="?", default="run", choices=("run", "migrate"))
    args = parser.parse_args(argv)
    config = nameko_config()
    logging.config.dictConfig(config["LOGGING"])
    log = logging.getLogger(service_cls.name)
    if args.command == "migrate":
        from shared.platform.migrations import upgrade
        from shared.platform.queues import declare_event_queues

        upgrade(migrations_dir, database_url())
        log.info("database migrated")
        # From here on, the events this service consumes wait in its queues until it runs.
        names = declare_event_queues(service_cls, config)
        if names:
            log.info("event queues declared: %s", ", ".join(names))
        return
    from nameko.cli.run import run

    init()
    run([service_cls], config)
