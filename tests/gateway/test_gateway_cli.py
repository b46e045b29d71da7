"""The gateway's command line, run as a real process: migrate, bootstrap, create clients and agents."""
import os
import re
import subprocess
import sys

from shared.testing import ROOT

MODULE = [sys.executable, "-m", "services.tracker_gateway"]


def run(args, gateway_db, **env):
    completed = subprocess.run(
        MODULE + args, cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_DATABASE_URL": gateway_db, **env},
    )
    return completed


def test_bootstrap_creates_demo_and_an_admin_once_with_a_printed_password(http, gateway_db):
    env = {"ADMIN_EMAIL": "Boss@Example.com", "ADMIN_PASSWORD": ""}
    first = run(["bootstrap"], gateway_db, **env)
    assert first.returncode == 0, first.stderr
    assert "created client 'Demo'" in first.stdout
    password = re.search(r"shown only now: (\S+)", first.stdout).group(1)
    assert len(password) >= 16
    again = run(["bootstrap"], gateway_db, **env)
    assert again.returncode == 0 and again.stdout == ""  # nothing to do, no password shown twice
    login = http.post("/api/auth/login", json={"email": "boss@example.com", "password": password})
    assert login.status_code == 200
    me = http.get("/api/auth/me", headers={"Authorization": f"Bearer {login.get_json()['access_token']}"}).get_json()
    assert me["role"] == "admin"


def test_bootstrap_uses_admin_password_when_set(http, gateway_db):
    result = run(["bootstrap"], gateway_db, ADMIN_EMAIL="root@example.com", ADMIN_PASSWORD="a long admin password")
    assert result.returncode == 0 and "a long admin password" not in result.stdout
    assert http.post("/api/auth/login", json={"email": "root@example.com",
                                              "password": "a long admin password"}).status_code == 200


def test_create_client_and_agent(http, gateway_db):
    client = run(["create-client", "--name", "Initech Corp"], gateway_db)
    assert client.returncode == 0, client.stderr
    assert "slug initech-corp" in client.stdout
    agent = run(["create-agent", "--client", "initech-corp", "--email", "peter@initech.example", "--name", "Peter",
                 "--password", "tps reports forever"], gateway_db)
    assert agent.returncode == 0, agent.stderr
    assert "(agent)" in agent.stdout and "tps reports" not in agent.stdout
    token = http.post("/api/auth/login", json={"email": "peter@initech.example",
                                               "password": "tps reports forever"}).get_json()["access_token"]
    assert http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).get_json()["role"] == "agent"
    duplicate = run(["create-client", "--name", "Initech Corp"], gateway_db)
    assert duplicate.returncode == 2 and "exists" in duplicate.stderr
    unknown = run(["create-agent", "--client", "nope", "--email", "a@b.c", "--name", "A"], gateway_db)
    assert unknown.returncode == 2 and "no client" in unknown.stderr


def test_production_refuses_to_start_without_a_jwt_secret(gateway_db):
    result = run(["bootstrap"], gateway_db, DESKLINE_ENV="production", JWT_SECRET="", TRACKER_LINK_SECRET="x" * 40)
    assert result.returncode != 0 and "JWT_SECRET must be set" in result.stderr
    short = run(["bootstrap"], gateway_db, DESKLINE_ENV="production", JWT_SECRET="short", TRACKER_LINK_SECRET="x" * 40)
    assert short.returncode != 0 and "at least 32 bytes" in short.stderr
    from services.tracker_gateway.config import DEV_JWT_SECRET

    copied = run(["bootstrap"], gateway_db, DESKLINE_ENV="production", JWT_SECRET=DEV_JWT_SECRET, TRACKER_LINK_SECRET="x" * 40)
    assert copied.returncode != 0 and "JWT_SECRET is the development value" in copied.stderr


def test_migrate_declares_the_projectors_event_queues(gateway_db, amqp_uri):
    from kombu import Connection

    from services.tracker_gateway.projector.config import nameko_config
    from services.tracker_gateway.projector.service import TrackerProjector
    from shared.platform.queues import event_queues

    completed = run(["migrate"], gateway_db, AMQP_URI=amqp_uri)
    assert completed.returncode == 0, completed.stderr
    queues = event_queues(TrackerProjector, nameko_config({"AMQP_URI": amqp_uri}))
    assert len(queues) == 4  # created, updated, deleted, rated
    # The queues exist before the projector ever ran: a passive declare fails on a missing queue.
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for queue in queues:
            queue(channel).queue_declare(passive=True)
