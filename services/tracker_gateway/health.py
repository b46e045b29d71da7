"""Probes: /healthz (the process answers) and /readyz (everything a request needs answers)."""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from . import db
from .rpc import ServiceUnavailable

bp = Blueprint("health", __name__)


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


@bp.get("/readyz")
def readyz():
    """Ready: the database, Redis and each service in GATEWAY_READY_SERVICES answer (ping RPC)."""
    probes = current_app.extensions["probe_pool"]
    checks = {
        "database": _check(lambda: db.session().execute(sa.text("SELECT 1"))),
        "redis": _check(lambda: current_app.extensions["redis"].ping()),
    }
    for service in current_app.config["READY_SERVICES"]:
        checks[service] = _check(lambda: probes.call(service, "ping"))
    ready = all(result == "ok" for result in checks.values())
    return jsonify({"status": "ready" if ready else "unavailable", "checks": checks}), 200 if ready else 503
