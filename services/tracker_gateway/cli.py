"""`python -m services.tracker_gateway COMMAND`: run the gateway or its projector, migrate, bootstrap
a fresh install, create clients and agents, rebuild the tracker's read model."""
import argparse
import logging.config
import os
import re
import secrets
import sys

import sqlalchemy as sa

from . import config as gateway_config
from .models import ROLES, SLUG_MAX, Agent, Client, is_slug

log = logging.getLogger("tracker_gateway")

GUNICORN_CONFIG = "python:services.tracker_gateway.gunicorn_conf"
WSGI_APP = "services.tracker_gateway.app:create_app()"


class CommandError(Exception):
    pass


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:SLUG_MAX].strip("-") or "client"


def _sessions(config):
    from .db import make_sessionmaker
    return make_sessionmaker(config["DATABASE_URL"], pool_size=1)


def create_client(session, name, slug=None):
    slug = slug or slugify(name)
    if not is_slug(slug):
        raise CommandError(f"a slug is lower-case letters and digits, dash-separated, at most {SLUG_MAX}: not {slug!r}")
    if session.scalars(sa.select(Client).where(Client.slug == slug)).first():
        raise CommandError(f"a client with slug {slug!r} exists")
    client = Client(name=name, slug=slug)
    session.add(client)
    session.flush()
    return client


def create_agent(session, client_slug, email, name, role="agent", password=None):
    """The new agent and its password (generated when none is given, to be shown once)."""
    from .auth import hash_password

    if role not in ROLES:
        raise CommandError(f"role must be one of {', '.join(ROLES)}")
    client = session.scalars(sa.select(Client).where(Client.slug == client_slug)).first()
    if client is None:
        raise CommandError(f"no client with slug {client_slug!r}")
    email = email.strip().lower()
    if session.scalars(sa.select(Agent).where(Agent.email == email)).first():
        raise CommandError(f"an agent with e-mail {email!r} exists")
    password = password or secrets.token_urlsafe(12)
    agent = Agent(client_id=client.id, email=email, name=name, role=role,
                  password_hash=hash_password(password), active=True)
    session.add(agent)
    session.flush()
    return agent, password


def bootstrap(session, config, out=sys.stdout):
    """On a fresh install: the client "Demo" and an admin from ADMIN_EMAIL / ADMIN_PASSWORD (a random
    password, printed this once, when unset). Does nothing when they exist."""
    slug = slugify(config["DEMO_CLIENT_NAME"])
    client = session.scalars(sa.select(Client).where(Client.slug == slug)).first()
    if client is None:
        client = create_client(session, config["DEMO_CLIENT_NAME"], slug)
        print(f"bootstrap: created client {client.name!r} (slug {slug}, id {client.id})", file=out)
    email = config["ADMIN_EMAIL"].strip().lower()
    if session.scalars(sa.select(Agent).where(Agent.email == email)).first() is None:
        _, password = create_agent(session, slug, email, config["ADMIN_NAME"], "admin", config["ADMIN_PASSWORD"])
        if config["ADMIN_PASSWORD"]:
            print(f"bootstrap: created admin {email} with the password from ADMIN_PASSWORD", file=out)
        else:
            print(f"bootstrap: created admin {email}; its password, shown only now: {password}", file=out)
    session.commit()


def rebuild_tracker(config, with_history=True):
    """Fill the tracker's read model from the tickets service (it must be running)."""
    import redis

    from .backfill import run_backfill
    from .tracker_view import TrackerView

    view = TrackerView(redis.Redis.from_url(config["REDIS_URL"]), config["REDIS_PREFIX"], config["TRACKER_DIGEST_KEY"])
    return run_backfill(view, config, with_history)


def run_gateway(argv_tail):
    """Replace this process with gunicorn (gthread workers; see gunicorn_conf.py)."""
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    os.execv(gunicorn, [gunicorn, "--config", GUNICORN_CONFIG, *argv_tail, WSGI_APP])


def run_projector():
    from nameko.cli.run import run

    from shared import resilience

    from .projector import TrackerProjector, nameko_config

    resilience.apply()
    run([TrackerProjector], nameko_config())


def parser():
    p = argparse.ArgumentParser(prog="python -m services.tracker_gateway")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="serve HTTP with gunicorn on GATEWAY_PORT (default)")
    sub.add_parser("projector", help="run the tracker projector (nameko service)")
    sub.add_parser("migrate", help="create and migrate the gateway's database")
    sub.add_parser("bootstrap", help="create client Demo and the admin agent if absent")
    c = sub.add_parser("create-client", help="create a client (tenant)")
    c.add_argument("--name", required=True)
    c.add_argument("--slug")
    a = sub.add_parser("create-agent", help="create an agent; a password is generated if none is given")
    a.add_argument("--client", required=True, help="the client's slug")
    a.add_argument("--email", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--role", default="agent", choices=ROLES)
    a.add_argument("--password", help="default: generated and printed once (prefer it: argv is visible to ps)")
    r = sub.add_parser("rebuild-tracker", help="fill the tracker's read model from the tickets service")
    r.add_argument("--without-history", action="store_true", help="timeline from the ticket alone (faster)")
    return p


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args, rest = parser().parse_known_args(argv)
    command = args.command or "run"
    if command == "run":
        return run_gateway(rest)
    if rest:
        parser().error(f"unrecognized arguments: {' '.join(rest)}")
    config = gateway_config.load()
    logging.config.dictConfig(config["LOGGING"])
    if command == "projector":
        return run_projector()
    if command == "migrate":
        from shared.migrations import upgrade

        from shared.queues import declare_event_queues

        from .projector import TrackerProjector, nameko_config

        upgrade(gateway_config.MIGRATIONS_DIR, config["DATABASE_URL"])
        log.info("database migrated")
        # From here on, the ticket events the projector consumes wait in its queues until it runs.
        names = declare_event_queues(TrackerProjector, nameko_config())
        log.info("event queues declared: %s", ", ".join(names))
        return
    if command == "rebuild-tracker":
        print(f"rebuild-tracker: {rebuild_tracker(config, not args.without_history)} tickets stored")
        return
    try:
        with _sessions(config)() as session:
            if command == "bootstrap":
                bootstrap(session, config)
            elif command == "create-client":
                client = create_client(session, args.name, args.slug)
                session.commit()
                print(f"client {client.name!r}: slug {client.slug}, id {client.id}")
            elif command == "create-agent":
                agent, password = create_agent(session, args.client, args.email, args.name, args.role, args.password)
                session.commit()
                shown = "as given" if args.password else f"{password} (shown only now)"
                print(f"agent {agent.email} ({agent.role}) in {args.client}: id {agent.id}, password {shown}")
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
