"""The notifier's copy of the directory (contract B): snapshots replace a client's copy, older ones are
ignored, and the reads answer who is notified of what."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notifier import directory
from shared.contracts.enums import DIRECTORY_CLIENT_CHANGED, DIRECTORY_SERVICE
from shared.contracts.events import MalformedEvent, make_envelope
from shared.testing import wait_for

CLIENT_ID = str(uuid.uuid4())


def agent(email, role="agent", active=True, customer_messages=True, assignments=True, agent_id=None):
    return {"id": agent_id or str(uuid.uuid4()), "email": email, "name": email.split("@")[0].title(), "role": role,
            "active": active, "notify": {"customer_messages": customer_messages, "assignments": assignments}}


def snapshot(agents, name="Acme", client_id=CLIENT_ID, slug="acme"):
    return {"client": {"id": client_id, "slug": slug, "name": name, "inbound_address": f"{slug}@support.test",
                       "settings": {"reopen_window_days": 14}},
            "agents": agents}


T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def apply(notifier_sessions):
    def run(data, at=T0):
        with notifier_sessions.begin() as session:
            return directory.apply_snapshot(session, data, at)
    return run


@pytest.fixture
def read(notifier_sessions):
    def run(function, *args, **kwargs):
        with notifier_sessions() as session:
            return function(session, *args, **kwargs)
    return run


def test_a_snapshot_is_the_clients_copy_and_the_next_one_replaces_its_agents(apply, read):
    assert apply(snapshot([agent("ann@acme.test", "admin"), agent("bob@acme.test")]))
    client = read(directory.client_by_slug, "acme")
    assert client == {"id": CLIENT_ID, "slug": "acme", "name": "Acme", "inbound_address": "acme@support.test",
                      "settings": {"reopen_window_days": 14}}
    assert [a["email"] for a in read(directory.agents_to_notify, CLIENT_ID, "customer_messages")] == [
        "ann@acme.test", "bob@acme.test"]

    assert apply(snapshot([agent("ann@acme.test", "admin")], name="Acme Ltd"), T0 + timedelta(seconds=1))
    assert read(directory.client_by_slug, "acme")["name"] == "Acme Ltd"
    assert [a["email"] for a in read(directory.agents_to_notify, CLIENT_ID, "customer_messages")] == ["ann@acme.test"]
    assert read(directory.agent_by_email, "bob@acme.test") is None


def test_an_older_or_repeated_snapshot_changes_nothing(apply, read):
    assert apply(snapshot([agent("ann@acme.test")], name="New"), T0)
    assert not apply(snapshot([agent("old@acme.test")], name="Old"), T0 - timedelta(seconds=1))
    assert read(directory.client_by_slug, "acme")["name"] == "New"
    assert read(directory.agent_by_email, "old@acme.test") is None
    assert apply(snapshot([agent("ann@acme.test")], name="Same time"), T0)  # the same stamp applies again: idempotent


def test_preferences_role_and_deactivation_decide_who_is_notified(apply, read):
    apply(snapshot([
        agent("ann@acme.test", "admin"),
        agent("bob@acme.test", customer_messages=False),
        agent("cat@acme.test", assignments=False),
        agent("dan@acme.test", "admin", active=False),
    ]))
    emails = lambda found: [a["email"] for a in found]  # noqa: E731
    assert emails(read(directory.agents_to_notify, CLIENT_ID, "customer_messages")) == ["ann@acme.test", "cat@acme.test"]
    assert emails(read(directory.agents_to_notify, CLIENT_ID, "customer_messages", assignee="BOB@acme.test")) == []
    assert emails(read(directory.agents_to_notify, CLIENT_ID, "assignments", assignee="bob@acme.test")) == ["bob@acme.test"]
    assert emails(read(directory.agents_to_notify, CLIENT_ID, "assignments", assignee="cat@acme.test")) == []
    assert emails(read(directory.agents_to_notify, CLIENT_ID, "assignments", assignee="dan@acme.test")) == []
    assert emails(read(directory.agents_to_notify, CLIENT_ID, "assignments")) == []
    assert emails(read(directory.admins, CLIENT_ID)) == ["ann@acme.test"]
    found = read(directory.agent_by_email, " Dan@Acme.test ")
    assert found["active"] is False and found["role"] == "admin" and found["client_id"] == CLIENT_ID
    with pytest.raises(ValueError):
        read(directory.agents_to_notify, CLIENT_ID, "everything")


def test_clients_are_kept_apart(apply, read):
    other = str(uuid.uuid4())
    apply(snapshot([agent("ann@acme.test")]))
    apply(snapshot([agent("zoe@globex.test", "admin")], name="Globex", client_id=other, slug="globex"))
    assert [a["email"] for a in read(directory.agents_to_notify, CLIENT_ID, "customer_messages")] == ["ann@acme.test"]
    assert [a["email"] for a in read(directory.admins, other)] == ["zoe@globex.test"]
    assert read(directory.client_by_slug, "globex")["id"] == other
    assert read(directory.client_by_slug, "initech") is None


@pytest.mark.parametrize("data", [None, {}, {"client": {"id": "x"}, "agents": []},
                                  snapshot([{**agent("a@b.test"), "role": "owner"}])])
def test_a_malformed_snapshot_is_refused_and_changes_nothing(apply, read, data):
    with pytest.raises(MalformedEvent):
        apply(data)
    assert read(directory.client_by_slug, "acme") is None


def test_the_running_notifier_applies_directory_events_from_the_broker(notifier_service, amqp_uri, read):
    from nameko.standalone.events import event_dispatcher

    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    dispatch(DIRECTORY_SERVICE, DIRECTORY_CLIENT_CHANGED,
             make_envelope(DIRECTORY_CLIENT_CHANGED, snapshot([agent("ann@acme.test", "admin")])))
    wait_for(lambda: read(directory.agent_by_email, "ann@acme.test"), message="the directory event applied")
    assert read(directory.admins, CLIENT_ID)[0]["email"] == "ann@acme.test"
