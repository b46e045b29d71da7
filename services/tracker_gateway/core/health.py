"""Probes: /healthz (the process answers) and /readyz (everything a request needs answers)."""
import logging
import threading

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from services.tracker_gateway.core import db
from services.tracker_gateway.core.rpc import ServiceUnavailable

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

# Every service the gateway calls or depends on: /readyz pings all of them and reports each one.
SERVICES = ("tickets", "tracker_projector", "notifier", "chat")


@bp.get("/healthz")
def healthz():
    """Alive: no dependency is consulted."""
    return jsonify({"status": "ok"})


def _check(probe):
    try:
        probe()
        return "ok"
    except ServiceUnavailable as exc:
        return exc.reason
    except Exception as exc:  # a probe reports, it does not fail: name the kind of failure only
        return f"unavailable ({type(exc).__name__})"


def _ping_all(services):
    """{service: result}, pinged at once: a down service costs READY_RPC_TIMEOUT once, not per service."""
    probes, results = current_app.extensions["probe_pool"], {}

    def ping(service):
        results[service] = _check(lambda: probes.call(service, "ping"))

    threads = [threading.Thread(target=ping, args=(service,), daemon=True) for service in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {service: results[service] for service in services}


def readiness():
    """{status, checks, optional}: the database, Redis and each service in GATEWAY_READY_SERVICES must
    answer (ping RPC) for `ready`. The other services the gateway talks to are pinged too and reported
    under `optional`, without making the gateway unready: a notifier or chat outage must not take the
    public tracker down."""
    required = list(current_app.config["READY_SERVICES"])
    optional = [service for service in SERVICES if service not in required]
    checks = {
        "database": _check(lambda: db.session().execute(sa.text("SELECT 1"))),
        "redis": _check(lambda: current_app.extensions["redis"].ping()),
    }
    pings = _ping_all(required + optional)
    checks.update((service, pings[service]) for service in required)
    ready = all(result == "ok" for result in checks.values())
    return {"status": "ready" if ready else "unavailable", "checks": checks,
            "optional": {service: pings[service] for service in optional}}


@bp.get("/readyz")
def readyz():
    """Ready or not, and nothing more: the port is public, so what is missing goes to the log (and the
    metrics), not to whoever asks."""
    report = readiness()
    missing = {name: result for name, result in {**report["checks"], **report["optional"]}.items() if result != "ok"}
    if missing:
        log.warning("readiness: %s; not answering: %s", report["status"], missing)
    return jsonify({"status": report["status"]}), 200 if report["status"] == "ready" else 503
