"""The tracker's "e-mail me a link": the gateway, the notifier and an SMTP sink, all real. One page
for every request; an email with a working signed link only when number and address match."""
import pytest

from tests.gateway.test_gateway_tracker import EMAIL, create, tracked

LINK = "/track-ticket/email-link"
SENT = "If this number and address match a ticket, we have sent a link to that address."


@pytest.fixture
def acme(tenants, auth_headers, tickets_service, tracker_projector, notifier_service):
    return auth_headers(tenants[0])


@pytest.fixture
def link_limits(gateway_settings):
    gateway_settings.update(TRACKER_LINK_EMAILS_PER_IP=3, TRACKER_LINK_EMAILS_PER_PAIR=2,
                            TRACKER_LINK_EMAILS_WINDOW_SECONDS=300, TRUSTED_PROXIES=1)


def ask(http, ticket, email, ip="192.0.2.1"):
    return http.post(LINK, data={"ticket": ticket, "email": email}, headers={"X-Forwarded-For": ip})


def test_a_matching_pair_gets_one_email_whose_link_opens_the_ticket(link_limits, http, acme, smtp_sink):
    create(http, acme)
    tracked(http, "TKT-00001")
    smtp_sink.wait_for_count(1)  # the "we received your request" email
    answer = ask(http, "TKT-00001", EMAIL)
    assert answer.status_code == 200 and SENT in answer.get_data(as_text=True)
    smtp_sink.wait_for_count(2)
    message = [m for m in smtp_sink.for_ticket("TKT-00001") if "Your link to track" in m.subject]
    assert len(message) == 1
    path = "/track-ticket/" + message[0].part("plain").split("/track-ticket/")[1].split()[0]
    opened = http.get(path)
    assert opened.status_code == 200 and "TKT-00001" in opened.get_data(as_text=True)


def test_a_miss_sends_nothing_and_answers_the_same_bytes(link_limits, http, acme, smtp_sink):
    create(http, acme)
    tracked(http, "TKT-00001")
    smtp_sink.wait_for_count(1)
    # The misses go first: the hit's email, asked for last, arrives after anything they could have sent.
    pages = [ask(http, number, email, ip=f"192.0.2.{n}") for n, (number, email) in enumerate(
        [("TKT-00001", "someone@else.io"), ("TKT-09999", EMAIL), ("junk", EMAIL)], start=11)]
    hit = ask(http, "TKT-00001", EMAIL, ip="192.0.2.10")
    for page in pages:
        assert (page.status_code, page.get_data()) == (hit.status_code, hit.get_data())
    smtp_sink.wait_for_count(2)
    assert sum("Your link to track" in m.subject for m in smtp_sink.received) == 1


def test_requests_are_limited_per_pair_and_per_address_in_words(link_limits, http, acme):
    for _ in range(2):
        assert ask(http, "TKT-00005", EMAIL, ip="192.0.2.50").status_code == 200
    limited = ask(http, "TKT-00005", EMAIL, ip="192.0.2.51")  # per number + address, from anywhere
    assert limited.status_code == 429 and 290 <= int(limited.headers["Retry-After"]) <= 300
    assert "Try again in 5 minutes" in limited.get_data(as_text=True)
    assert ask(http, "TKT-00006", EMAIL, ip="192.0.2.50").status_code == 200  # the address's third
    assert ask(http, "TKT-00007", EMAIL, ip="192.0.2.50").status_code == 429  # and past it


def test_the_form_asks_again_for_missing_fields(http, gateway_db):
    page = http.post(LINK, data={"ticket": "TKT-00001"})
    assert page.status_code == 422 and "Enter your ticket number" in page.get_data(as_text=True)
