"""The gateway publishes the directory (contract B): a full snapshot of a client after each change, of
every client at start (the `publish-directory` process gunicorn's when_ready starts), and the
notifier's copy follows, through the real broker. A broker that is away fails no change."""
import logging
import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy.orm import Session

from services.notifier import directory as notifier_directory
from services.tracker_gateway.accounts import directory
from services.tracker_gateway.accounts.models import Agent
from shared.testing import ROOT, free_port, wait_for


@pytest.fixture
def notifier_copy(notifier_sessions):
    def agent(email):
        with notifier_sessions() as session:
            return notifier_directory.agent_by_email(session, email)
    return agent


def test_the_snapshot_holds_the_client_its_settings_and_every_agent_with_preferences(gateway_app, gateway_engine, tenants):
    acme, _ = tenants
    with Session(gateway_engine) as session:
        agent = session.get(Agent, uuid.UUID(acme.agent_id))
        agent.display_name, agent.notify_assignments = "Ann the Admin", False
        session.commit()
        data = directory.snapshot(session, uuid.UUID(acme.client_id), "support.test")
    assert data == {
        "client": {"id": acme.client_id, "slug": "acme", "name": "Acme", "inbound_address": "acme@support.test",
                   "settings": {"reopen_window_days": 14, "sms_updates": False}},
        "agents": [{"id": acme.agent_id, "email": acme.email, "name": "Ann the Admin", "role": "admin",
                    "active": True, "notify": {"customer_messages": True, "assignments": False}}],
    }


def test_announce_reaches_the_notifiers_tables(gateway_app, gateway_engine, tenants, notifier_service, notifier_copy):
    acme, globex = tenants
    with Session(gateway_engine) as session:
        assert directory.announce(session, gateway_app.config)  # every client, as at start
    wait_for(lambda: notifier_copy(acme.email) and notifier_copy(globex.email), message="both clients copied")
    assert notifier_copy(acme.email)["client_id"] == acme.client_id


def test_a_broker_that_is_away_fails_nothing_and_is_logged(gateway_app, gateway_engine, tenants, caplog):
    config = {**gateway_app.config, "AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/"}
    with Session(gateway_engine) as session, caplog.at_level(logging.ERROR):
        assert directory.announce(session, config, uuid.UUID(tenants[0].client_id)) is False
    assert "next gateway start publishes it again" in caplog.text


def test_the_start_process_publishes_every_client(gateway_db, tenants, amqp_uri, notifier_service, notifier_copy):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_DATABASE_URL": gateway_db, "AMQP_URI": amqp_uri}
    process = subprocess.run([sys.executable, "-m", "services.tracker_gateway", "publish-directory"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    wait_for(lambda: notifier_copy(tenants[1].email), message="the start's snapshot applied")


def test_gunicorn_when_ready_starts_the_publishing_process(monkeypatch, gateway_db, tenants, amqp_uri,
                                                          notifier_service, notifier_copy):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    monkeypatch.setenv("AMQP_URI", amqp_uri)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    from services.tracker_gateway import gunicorn_conf

    started = []
    monkeypatch.setattr(directory, "publish_at_start", lambda real=directory.publish_at_start: started.append(real()))
    gunicorn_conf.when_ready(None)
    assert started[0].wait(timeout=60) == 0
    wait_for(lambda: notifier_copy(tenants[0].email), message="the start's snapshot applied")
