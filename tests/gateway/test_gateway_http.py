"""The gateway as it runs in production: gunicorn (gthread) in its own process, over real HTTP,
with the tickets service and the tracker projector behind it."""
import os
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from shared.testing import ROOT, free_port, wait_for
from tests.fixtures.gateway import TEST_REDIS_URL

EMAIL = "http.customer@example.com"



@pytest.fixture
def gunicorn_gateway(gateway_db, amqp_uri, redis_prefix, tickets_service, tracker_projector, tmp_path):
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.tracker_gateway", "run"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_PORT": str(port), "GATEWAY_DATABASE_URL": gateway_db,
             "AMQP_URI": amqp_uri, "REDIS_URL": TEST_REDIS_URL, "GATEWAY_REDIS_PREFIX": redis_prefix,
             "GATEWAY_WORKERS": "2", "GATEWAY_THREADS": "4", "RPC_TIMEOUT": "3",
             "GATEWAY_READY_SERVICES": "tickets,tracker_projector"},
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            return False

    try:
        wait_for(up, timeout=30, interval=0.2, message="gunicorn to answer")
        yield base, process, tmp_path / "gunicorn.log"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_gunicorn_serves_the_api_and_the_tracker(gunicorn_gateway, tenants):
    base, process, log_path = gunicorn_gateway
    session = requests.Session()
    assert "Using worker: gthread" in log_path.read_text()
    ready = session.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}
    assert "server" not in {name.lower() for name in ready.headers} or "gunicorn" not in ready.headers["Server"].lower()

    acme = tenants[0]
    tokens = session.post(f"{base}/api/auth/login", json={"email": acme.email, "password": acme.password}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    # Several requests at once: each gunicorn thread has its own RPC proxy.
    from concurrent.futures import ThreadPoolExecutor

    def make(n):
        return session.post(f"{base}/api/entities/ticket", headers=headers, timeout=10,
                            json={"title": f"Over HTTP {n}", "description": "d", "customer_email": EMAIL})

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(make, range(16)))
    assert {r.status_code for r in made} == {201}
    assert len({r.json()["ticket_number"] for r in made}) == 16
    listed = session.get(f"{base}/api/entities/ticket", headers=headers, params={"per_page": 100}).json()
    assert listed["total"] == 16

    def tracked():
        response = session.get(f"{base}/api/public/track", params={"ticket": "TKT-00016", "email": EMAIL.upper()})
        return response.status_code == 200 and response.json()
    assert wait_for(tracked, timeout=10, message="the ticket in the tracker")["ticket_number"] == "TKT-00016"

    page = session.post(f"{base}/track-ticket", data={"ticket": "TKT-00003", "email": EMAIL})
    assert page.status_code == 200 and "Over HTTP" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    miss = session.post(f"{base}/track-ticket", data={"ticket": "TKT-00003", "email": "no@one.io"})
    assert miss.status_code == 404

    assert session.get(f"{base}/api/openapi.json").json()["openapi"].startswith("3.")
    # Its own connection: gunicorn closes one whose body it did not read.
    too_big = requests.post(f"{base}/api/entities/ticket", headers={**headers, "Content-Type": "application/json"},
                            data=b"x" * (300 * 1024))
    assert too_big.status_code == 413 and too_big.json()["error"] == "request_entity_too_large"
    assert process.poll() is None
    assert "Traceback" not in log_path.read_text()


def test_gunicorn_answers_503_when_the_tickets_service_stops(gunicorn_gateway, tenants, tickets_service):
    base, _, _ = gunicorn_gateway
    acme = tenants[0]
    token = requests.post(f"{base}/api/auth/login", json={"email": acme.email, "password": acme.password}).json()
    tickets_service.stop()
    response = requests.get(f"{base}/api/entities/ticket", timeout=10,
                            headers={"Authorization": f"Bearer {token['access_token']}", "X-Request": uuid.uuid4().hex})
    assert response.status_code == 503 and response.json()["error"] == "service_unavailable"


def test_an_exhausted_database_pool_is_a_503_not_a_500(gateway_app, http, tenants):
    from services.tracker_gateway.core import db

    url = gateway_app.config["DATABASE_URL"]
    tiny = db.make_sessionmaker(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    gateway_app.extensions["gateway_sessions"], original = tiny, gateway_app.extensions["gateway_sessions"]
    held = tiny.kw["bind"].connect()  # the pool's only connection, busy elsewhere
    try:
        response = http.post("/api/auth/login", json={"email": tenants[0].email, "password": tenants[0].password})
        assert response.status_code == 503 and response.get_json()["error"] == "service_unavailable"
        assert response.headers["Retry-After"]
    finally:
        held.close()
        gateway_app.extensions["gateway_sessions"] = original
        tiny.kw["bind"].dispose()


def test_waiting_for_a_busy_rpc_proxy_is_a_quick_503(gateway_settings, tenants, auth_headers, tickets_service):
    import time

    from services.tracker_gateway.app import close_app, create_app

    app = create_app({**gateway_settings, "THREADS": 1, "RPC_TIMEOUT": 30.0})
    pool = app.extensions["rpc_pool"]
    held = pool.checkout()  # the only proxy, busy with another request
    try:
        started = time.monotonic()
        response = app.test_client().get("/api/entities/ticket", headers=auth_headers(tenants[0]))
        assert response.status_code == 503 and response.get_json()["error"] == "service_unavailable"
        assert time.monotonic() - started < 15  # not the 30 s call timeout
    finally:
        pool.checkin(held)
        close_app(app)
