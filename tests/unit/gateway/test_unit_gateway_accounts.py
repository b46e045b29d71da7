"""Account rules with no database or broker: the last-admin and password rules' inputs, the status an
agent shows, the start's publishing retries."""
import contextlib
from types import SimpleNamespace

from services.tracker_gateway.accounts import directory, team


def test_password_rules():
    assert team.password_problem("short") == "Use at least 10 characters."
    assert team.password_problem(None) == "Use at least 10 characters."
    assert team.password_problem("x" * 1025) == "Use at most 1024 characters."
    assert team.password_problem("ten chars!") is None


def test_an_agents_status_in_words():
    agent = lambda **kw: SimpleNamespace(**{"active": True, "password_set": True, **kw})  # noqa: E731
    assert team.status_of(agent()) == "active"
    assert team.status_of(agent(password_set=False)) == "invited"
    assert team.status_of(agent(active=False, password_set=False)) == "deactivated"


def test_last_seen_is_written_at_most_once_a_minute():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
    agent = SimpleNamespace(last_seen_at=None)
    assert team.mark_seen(None, agent, now) and agent.last_seen_at == now
    assert not team.mark_seen(None, agent, now + timedelta(seconds=59))
    assert team.mark_seen(None, agent, now + timedelta(seconds=60))


def test_the_start_keeps_publishing_with_back_off_until_it_works(monkeypatch):
    outcomes, sleeps = [False, False, True], []
    monkeypatch.setattr(directory, "announce", lambda session, config: outcomes.pop(0))
    sessions = lambda: contextlib.nullcontext(object())  # noqa: E731
    assert directory.announce_with_retries(sessions, {}, retry_for=60, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0]


def test_the_start_gives_up_after_its_time(monkeypatch):
    sleeps = []
    monkeypatch.setattr(directory, "announce", lambda session, config: False)
    sessions = lambda: contextlib.nullcontext(object())  # noqa: E731
    assert directory.announce_with_retries(sessions, {}, retry_for=0, sleep=sleeps.append) is False
    assert sleeps == []
