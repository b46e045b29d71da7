"""Webhooks' rules with no broker or database: the address guard's ranges, the URL rules, the event patterns,
the signature (checked with the snippet of docs/webhooks.md), back-off, and the handlers the process has."""
import hashlib
import hmac
import random

import pytest

from services.notifier.webhooks.config import WebhookSettings
from services.notifier.webhooks.guard import Guard, Refused, forbidden_reason, static_problem
from services.notifier.webhooks.service import WebhooksService
from services.notifier.webhooks.signing import new_secret, signature_header
from services.notifier.webhooks.store import client_of, retry_delay
from shared.contracts.webhook_schemas import DELIVERED_EVENTS, WEBHOOK_CREATE, matches, url_problem, wants
from tests.fixtures.webhooks import documented_verify

FORBIDDEN = ["127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0",
             "100.64.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12::3", "ff02::1",
             "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::1", "198.18.0.1"]
PUBLIC = ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_forbidden_ranges_are_refused(address):
    assert forbidden_reason(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert forbidden_reason(address) is None


def test_the_guard_picks_an_allowed_answer_or_refuses_and_can_be_lifted():
    answers = {"mixed.example": ["10.0.0.1", "93.184.216.34"], "inside.example": ["10.0.0.1", "127.0.0.1"],
               "none.example": []}
    guard = Guard(resolver=lambda host, port: answers[host])
    assert guard.resolve("mixed.example", 443) == "93.184.216.34"
    with pytest.raises(Refused, match="10.0.0.1 is a private"):
        guard.resolve("inside.example", 443)
    with pytest.raises(Refused, match="no address"):
        guard.resolve("none.example", 443)
    with pytest.raises(Refused, match="metadata"):
        guard.resolve("169.254.169.254", 80)  # a literal is checked without asking DNS
    with pytest.raises(Refused, match="cannot resolve"):
        Guard(resolver=lambda host, port: (_ for _ in ()).throw(OSError("no such host"))).resolve("x.example", 80)
    assert Guard(allow_private=True, resolver=lambda host, port: answers[host]).resolve("inside.example", 80) == "10.0.0.1"


def test_literal_forbidden_hosts_are_refused_when_saved_unless_allowed():
    assert "loopback" in static_problem("127.0.0.1", False)
    assert "localhost" in static_problem("LOCALHOST", False) and static_problem("api.localhost", False)
    assert "link-local" in static_problem("[fe80::1]", False)
    assert static_problem("hooks.example.com", False) is None and static_problem("127.0.0.1", True) is None


@pytest.mark.parametrize("url", ["ftp://a.example/x", "file:///etc/passwd", "javascript:alert(1)", "http:///x",
                                 "https://user:pw@a.example/x", "http://a.example:0/x", "http://a.example:99999/",
                                 "http://[::1/x", "https://a.example/x y", "gopher://a.example/"])
def test_only_http_urls_with_a_host_are_endpoints(url):
    assert url_problem(url) is not None or WEBHOOK_CREATE.validate({"url": url, "events": ["*"]})


def test_patterns_pick_events():
    assert matches("ticket.*", "ticket.rated") and not matches("ticket.*", "chat.message_posted")
    assert matches("*", "chat.conversation_closed") and matches("ticket.rated", "ticket.rated")
    assert not matches("ticket.created", "ticket.created_again")
    assert wants(["chat.*"], "webhook.test")  # a test event goes wherever it is sent
    assert not wants(["chat.*"], "ticket.created")
    assert WEBHOOK_CREATE.validate({"url": "https://a.example/x", "events": ["ticket.*", "ticket.rated"]}) == {}
    assert "events" in WEBHOOK_CREATE.validate({"url": "https://a.example/x", "events": ["ticket.exploded"]})


def test_every_delivered_event_has_a_handler_with_a_queue_of_its_own():
    handled = {}
    for name in dir(WebhooksService):
        for entrypoint in getattr(getattr(WebhooksService, name), "nameko_entrypoints", ()):
            if hasattr(entrypoint, "event_type"):
                handled[entrypoint.event_type] = entrypoint.source_service
    assert handled == DELIVERED_EVENTS


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_and_the_documented_snippet_checks_it():
    verify = documented_verify()
    secret, body = new_secret(), b'{"event_type":"ticket.created"}'
    header = signature_header(secret, 1_800_000_000, body)
    expected = hmac.new(secret.encode(), b"1800000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={expected}"
    assert verify(secret, header, body, now=1_800_000_100)
    assert not verify(secret, header, body + b"x", now=1_800_000_100)
    assert not verify(secret, header, body, now=1_800_000_301)  # a replay, later than the tolerance
    assert not verify(secret, "garbage", body) and not verify(secret, "t=x,v1=y", body)
    assert secret.startswith("whsec_") and len(secret) > 40 and new_secret() != secret


def test_back_off_doubles_with_jitter_up_to_its_cap():
    settings = WebhookSettings()
    for attempts in range(1, 20):
        ceiling = min(3600.0, 30.0 * 2 ** (attempts - 1))
        delays = [retry_delay(attempts, settings, random.Random(seed).random) for seed in range(20)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays) and len(set(delays)) > 1


def test_the_client_of_an_event():
    assert client_of({"ticket": {"client_id": "a"}}) == "a"
    assert client_of({"conversation": {"client_id": "b"}}) == "b"
    assert client_of({"client_id": "c", "rating": "good"}) == "c"
    assert client_of({"actor": None}) is None


def test_settings_refuse_what_cannot_work(monkeypatch):
    from services.notifier.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="LEASE"):
        WebhookSettings(lease_seconds=20, total_timeout=15).check()
    monkeypatch.setenv("DESKLINE_ENV", "production")
    with pytest.raises(ConfigurationError, match="ALLOW_PRIVATE"):
        WebhookSettings(allow_private=True).check()
