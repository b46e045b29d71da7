"""The contracts every service shares: the event envelope, ticket numbers and tracking links."""
import uuid
from datetime import datetime, timezone

import pytest

from shared.contracts.events import ENVELOPE_VERSION, MalformedEvent, make_envelope, parse_envelope
from shared.contracts.ticket_numbers import format_ticket_number, is_ticket_number, parse_ref, parse_typed
from shared.contracts.tracking_links import DEFAULT_MAX_AGE_DAYS, TrackingLinks

AT = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


# -- the event envelope --

def test_an_envelope_is_plain_json_values_ready_for_the_wire():
    event_id = uuid.uuid4()
    envelope = make_envelope("ticket.created", {"ticket": {"ticket_number": "TKT-00001"}}, event_id, AT)
    assert envelope == {"event_id": str(event_id), "event_type": "ticket.created",
                        "occurred_at": "2026-11-30T12:00:00+00:00", "version": ENVELOPE_VERSION,
                        "data": {"ticket": {"ticket_number": "TKT-00001"}}}


def test_each_envelope_gets_its_own_id_and_the_time_now():
    first, second = make_envelope("x", {}), make_envelope("x", {})
    assert first["event_id"] != second["event_id"]
    assert datetime.fromisoformat(first["occurred_at"]).tzinfo is not None


def test_an_envelope_reads_back_typed():
    event_id = uuid.uuid4()
    parsed = parse_envelope(make_envelope("chat.message_posted", {"a": 1}, event_id, AT))
    assert parsed == {"event_id": event_id, "event_type": "chat.message_posted", "occurred_at": AT,
                      "version": ENVELOPE_VERSION, "data": {"a": 1}}


def envelope(**changes):
    values = make_envelope("ticket.created", {}, occurred_at=AT)
    return {key: value for key, value in {**values, **changes}.items() if value is not ...}


@pytest.mark.parametrize("payload", [
    envelope(event_id="nope"), envelope(event_id=...), envelope(event_type=...), envelope(data=...),
    envelope(data="text"), envelope(version="one"), envelope(occurred_at="2026-11-30T12:00:00"),  # no zone
    envelope(occurred_at="yesterday"), envelope(extra=1), {}, "a string", None, [],
])
def test_anything_else_is_malformed(payload):
    with pytest.raises(MalformedEvent):
        parse_envelope(payload)


# -- ticket numbers --

@pytest.mark.parametrize("number, text", [(1, "TKT-00001"), (99999, "TKT-99999"), (100000, "TKT-100000")])
def test_numbers_have_at_least_five_digits(number, text):
    assert format_ticket_number(number) == text and is_ticket_number(text)


@pytest.mark.parametrize("text", ["TKT-0001", "TKT-", "00001", "TKT-00001x", "TKT 00001", None, 1])
def test_what_is_not_a_ticket_number(text):
    assert not is_ticket_number(text)


def test_a_reference_is_an_exact_number_or_an_id():
    ticket_id = uuid.uuid4()
    assert parse_ref(" tkt-00042 ") == ("number", 42)
    assert parse_ref(str(ticket_id)) == ("id", ticket_id)
    assert parse_ref("42") is None and parse_ref("TKT-42") is None and parse_ref(None) is None


@pytest.mark.parametrize("typed, number", [("tkt-42", "TKT-00042"), ("TKT42", "TKT-00042"), (" 000042 ", "TKT-00042"),
                                           ("TKT-1234567", "TKT-1234567"), ("TKT-", None), ("-42", None),
                                           ("1" * 13, None), ("", None), (None, None)])
def test_what_customers_type_is_read_leniently(typed, number):
    assert parse_typed(typed) == number


# -- tracking links --

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"


def test_a_link_opens_its_ticket_for_its_address_in_normal_form():
    links = TrackingLinks(SECRET)
    token = links.make_token("TKT-00042", "  Kira@Example.COM ")
    assert links.read_token(token) == ("TKT-00042", "kira@example.com")
    url = links.url("https://desk.example.com/", "TKT-00042", "kira@example.com")
    assert url.startswith("https://desk.example.com/track-ticket/")
    assert links.read_token(url.rsplit("/", 1)[1]) == ("TKT-00042", "kira@example.com")


def test_a_link_is_read_only_with_its_secret():
    token = TrackingLinks(SECRET).make_token("TKT-00042", "kira@example.com")
    assert TrackingLinks("another-secret-of-at-least-thirty-two-bytes").read_token(token) is None


def test_an_altered_or_truncated_link_is_refused():
    links = TrackingLinks(SECRET)
    token = links.make_token("TKT-00042", "kira@example.com")
    middle = len(token) // 2
    # (Not the last character: base64's spare low bits there may decode to the same bytes.)
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1:]
    other_ticket = TrackingLinks(SECRET).make_token("TKT-00043", "kira@example.com")
    spliced = other_ticket[:middle] + token[middle:]
    for bad in (flipped, spliced, token[:-5], token + "x", "", "not-a-token", "a.b.c", "x" * 5000):
        assert links.read_token(bad) is None


def test_a_link_expires():
    links = TrackingLinks(SECRET, max_age_seconds=60)
    token = links.make_token("TKT-00042", "kira@example.com")
    assert links.read_token(token) is not None
    assert links.read_token(token, max_age=-1) is None
    assert TrackingLinks(SECRET).max_age_seconds == DEFAULT_MAX_AGE_DAYS * 86400


def test_a_signed_payload_without_our_fields_is_refused():
    links = TrackingLinks(SECRET)
    for payload in (b'{"x": 1}', b'"TKT-00042"', b'{"t": 42, "e": "kira@example.com"}', b"not json"):
        assert links.read_token(links._fernet.encrypt(payload).decode()) is None
