"""`python -m services.tracker_gateway COMMAND`: run the gateway, its chat stream server or its projector, migrate, bootstrap
a fresh install, create clients and agents, rebuild the tracker's read model."""
import argparse
import logging.config
import os
import sys

from services.tracker_gateway import config as gateway_config
from services.tracker_gateway.accounts import directory
from services.tracker_gateway.accounts.models import ROLES
from services.tracker_gateway.accounts.tenants import (
    TenantError,
    bootstrap,
    create_agent,
    create_client,
    deactivate_agent,
)

log = logging.getLogger("tracker_gateway")

GUNICORN_CONFIG = "python:services.tracker_gateway.gunicorn_conf"
WSGI_APP = "services.tracker_gateway.app:create_app()"


def _sessions(config):
    from services.tracker_gateway.core.db import make_sessionmaker
    return make_sessionmaker(config["DATABASE_URL"], pool_size=1)


def rebuild_tracker(config, with_history=True):
    """Fill the tracker's read model from the tickets service (it must be running)."""
    import redis

    from services.tracker_gateway.projector.backfill import run_backfill
    from services.tracker_gateway.projector.read_model import TrackerView

    view = TrackerView(redis.Redis.from_url(config["REDIS_URL"]), config["REDIS_PREFIX"], config["TRACKER_DIGEST_KEY"])
    return run_backfill(view, config, with_history)


def run_gateway(argv_tail):
    """Replace this process with gunicorn (gthread workers; see gunicorn_conf.py). The one way the
    gateway is started: by `make run` (deploy/Procfile), `make run-gateway` and the image (deploy/start.sh)."""
    from shared.platform.observability import prepare_multiprocess_metrics

    prepare_multiprocess_metrics()  # gunicorn's workers count requests apart; /metrics sums them
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.execv(gunicorn, [gunicorn, "--config", GUNICORN_CONFIG, *argv_tail, WSGI_APP])


def parser():
    p = argparse.ArgumentParser(prog="python -m services.tracker_gateway")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="serve HTTP with gunicorn on GATEWAY_PORT (default)")
    sub.add_parser("chat-stream", help="serve the customers' chat streams (asyncio) on CHAT_STREAM_PORT")
    # Kept for older scripts: the same as `python -m services.tracker_gateway.projector run` (__main__.py).
    sub.add_parser("projector", help="run the tracker projector (nameko service)")
    sub.add_parser("migrate", help="create and migrate the gateway's database")
    sub.add_parser("bootstrap", help="create client Demo and the admin agent if absent")
    pd = sub.add_parser("publish-directory", help="publish every client's directory snapshot (done at every start)")
    pd.add_argument("--retry-for", type=float, default=0, help="seconds to keep trying while the broker is away")
    c = sub.add_parser("create-client", help="create a client (tenant)")
    c.add_argument("--name", required=True)
    c.add_argument("--slug")
    a = sub.add_parser("create-agent", help="create an agent; a password is generated if none is given")
    a.add_argument("--client", required=True, help="the client's slug")
    a.add_argument("--email", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--role", default="agent", choices=ROLES)
    a.add_argument("--password", help="default: generated and printed once (prefer it: argv is visible to ps)")
    d = sub.add_parser("deactivate-agent", help="an agent can no longer sign in; its tokens and sessions stop at once")
    d.add_argument("--email", required=True)
    r = sub.add_parser("rebuild-tracker", help="fill the tracker's read model from the tickets service")
    r.add_argument("--without-history", action="store_true", help="timeline from the ticket alone (faster)")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args, rest = parser().parse_known_args(argv)
    command = args.command or "run"
    if command == "run":
        return run_gateway(rest)
    if command == "chat-stream":
        from services.tracker_gateway.chat_streams import main as chat_streams_main

        return chat_streams_main()
    if rest:
        parser().error(f"unrecognized arguments: {' '.join(rest)}")
    config = gateway_config.load()
    logging.config.dictConfig(config["LOGGING"])
    if command == "migrate":
        from services.tracker_gateway.projector.cli import declare_queues
        from shared.platform.migrations import upgrade

        upgrade(gateway_config.MIGRATIONS_DIR, config["DATABASE_URL"])
        log.info("database migrated")
        # From here on, the ticket events the projector consumes wait in its queues until it runs.
        declare_queues()
        return
    if command == "rebuild-tracker":
        print(f"rebuild-tracker: {rebuild_tracker(config, not args.without_history)} tickets stored")
        return
    try:
        with _sessions(config)() as session:
            if command == "bootstrap":
                bootstrap(session, config)
                directory.announce(session, config)
            elif command == "publish-directory":
                if not directory.announce_with_retries(_sessions(config), config, args.retry_for):
                    sys.exit(1)
            elif command == "deactivate-agent":
                import redis

                agent = deactivate_agent(session, redis.Redis.from_url(config["REDIS_URL"]), config, args.email)
                directory.announce(session, config, agent.client_id)
                print(f"agent {agent.email} deactivated: its sessions and tokens no longer work")
            elif command == "create-client":
                client = create_client(session, args.name, args.slug)
                session.commit()
                directory.announce(session, config, client.id)
                print(f"client {client.name!r}: slug {client.slug}, id {client.id}")
            elif command == "create-agent":
                agent, password = create_agent(session, args.client, args.email, args.name, args.role, args.password)
                session.commit()
                directory.announce(session, config, agent.client_id)
                shown = "as given" if args.password else f"{password} (shown only now)"
                print(f"agent {agent.email} ({agent.role}) in {args.client}: id {agent.id}, password {shown}")
    except TenantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
