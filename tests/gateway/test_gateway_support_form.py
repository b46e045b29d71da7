"""The public web form (`/support/<client-slug>`): a ticket from the web with its first message and
files, and its defences (unknown client, CSRF, honeypot, limits, oversize, double submit). Real
tickets service (and notifier for the created e-mail) behind the gateway."""
import re

import pytest

from services.tracker_gateway.public import public_csrf
from shared.testing import TRACKING_LINKS, wait_for
from tests.gateway.public_forms import EMAIL, FORM, fields, open_form, submit, ticket_number_in


@pytest.fixture
def acme(tenants, tickets_service):
    return tenants[0]


def count_tickets(tickets_rpc, tenant):
    return tickets_rpc.list_tickets({"client_id": tenant.client_id})["total"]


def test_an_unknown_client_gets_a_404_page(http, tenants):
    for slug in ("nobody", "Not-A-Slug", "x" * 80, "acme%00"):
        for response in (http.get(FORM.format(slug=slug)), http.post(FORM.format(slug=slug), data=fields())):
            assert response.status_code == 404
            assert "There is no support form at this address" in response.get_data(as_text=True)
            assert response.mimetype == "text/html"


def test_the_form_page_labels_every_field_and_sets_its_csrf_cookie(http, acme):
    response = http.get(FORM.format(slug=acme.slug))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    for field in ("name", "email", "subject", "category", "description", "attachments"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page and f'id="{field}-error"' in page
    for category in ("General", "Technical", "Billing", "Account", "Feature request", "Other"):
        assert f">{category}</option>" in page
    assert 'enctype="multipart/form-data"' in page and 'aria-hidden="true"' in page  # the honeypot's wrapper
    cookie = http.get_cookie(public_csrf.COOKIE)
    assert cookie and cookie.http_only and cookie.same_site == "Strict"
    assert re.search(r'name="form_id" value="[0-9a-f]{32}"', page)


def test_a_submission_opens_a_web_ticket_whose_first_message_carries_the_files(http, acme, tickets_rpc):
    response = submit(http, acme.slug, attachments=[("screenshot.png", b"\x89PNG fake"), ("log.txt", b"line 1\n")])
    assert response.status_code == 200, response.get_data(as_text=True)
    number = ticket_number_in(response)
    assert "Thank you, we have your request" in response.get_data(as_text=True)
    ticket = tickets_rpc.get_ticket(number, client_id=acme.client_id)
    assert (ticket["channel"], ticket["title"], ticket["category"], ticket["customer_name"], ticket["customer_email"]) == (
        "web", "Export times out", "technical", "Kira Nakamura", EMAIL)
    [message] = tickets_rpc.list_messages(number, client_id=acme.client_id)
    assert (message["author_type"], message["channel"], message["visibility"], message["body"]) == (
        "customer", "web", "public", "The yearly export fails after 30 seconds.")
    assert sorted((a["filename"], a["size"]) for a in message["attachments"]) == [("log.txt", 7), ("screenshot.png", 9)]


def test_a_double_submit_makes_one_ticket(http, acme, tickets_rpc):
    tokens = open_form(http, acme.slug)
    first, second = submit(http, acme.slug, tokens), submit(http, acme.slug, tokens)
    assert first.status_code == second.status_code == 200
    assert ticket_number_in(first) == ticket_number_in(second)
    assert count_tickets(tickets_rpc, acme) == 1
    assert ticket_number_in(submit(http, acme.slug)) != ticket_number_in(first)  # a new render is a new request


def test_a_bot_filling_the_honeypot_gets_the_same_page_and_nothing_is_made(http, acme, tickets_rpc):
    response = submit(http, acme.slug, website="http://spam.example")
    assert response.status_code == 200
    assert "Thank you, we have your request" in response.get_data(as_text=True)
    assert re.fullmatch(r"TKT-\d{5}", ticket_number_in(response))
    assert count_tickets(tickets_rpc, acme) == 0


@pytest.mark.parametrize("tamper", ["no cookie", "wrong token", "other origin", "cross-site fetch"])
def test_a_forged_submission_is_refused(http, acme, tickets_rpc, tamper):
    tokens = open_form(http, acme.slug)
    headers = {}
    if tamper == "no cookie":
        http.delete_cookie(public_csrf.COOKIE)
    elif tamper == "wrong token":
        tokens["csrf_token"] = "x" * 43
    elif tamper == "other origin":
        headers["Origin"] = "https://evil.example"
    else:  # no Referer, so Origin: null; the Fetch Metadata still tell
        headers.update({"Origin": "null", "Sec-Fetch-Site": "cross-site"})
    response = submit(http, acme.slug, tokens, headers=headers)
    assert response.status_code == 403
    assert "This form has expired or came from another site" in response.get_data(as_text=True)
    assert count_tickets(tickets_rpc, acme) == 0


def test_invalid_fields_are_named_next_to_them_and_what_was_typed_stays(http, acme, tickets_rpc):
    response = submit(http, acme.slug, name="  ", email="not-an-address", category="lottery",
                      subject="Keep <this>")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="name-error">Please fill this in\.<', page)
    assert re.search(r'id="email-error">Enter an e-mail address like name@example.com\.<', page)
    assert re.search(r'id="category-error">Must be one of', page)
    assert 'id="email" name="email"' in page and 'aria-invalid="true"' in page
    assert 'value="Keep &lt;this&gt;"' in page and 'value="not-an-address"' in page
    assert count_tickets(tickets_rpc, acme) == 0


def test_a_missing_or_forged_form_id_is_refused_and_a_new_one_given(http, acme, tickets_rpc):
    tokens = open_form(http, acme.slug)
    response = submit(http, acme.slug, {**tokens, "form_id": "'; DROP"})
    assert response.status_code == 422 and "This form has expired. Check what you wrote" in response.get_data(as_text=True)
    assert re.search(r'name="form_id" value="[0-9a-f]{32}"', response.get_data(as_text=True))
    assert count_tickets(tickets_rpc, acme) == 0


MB = 1024 * 1024


@pytest.fixture
def small_files(gateway_settings):
    gateway_settings.update(PUBLIC_ATTACHMENTS_MAX_FILES=2, PUBLIC_ATTACHMENTS_MAX_BYTES=MB)


def test_more_files_than_allowed_is_a_422_next_to_the_attachments(small_files, http, acme, tickets_rpc):
    response = submit(http, acme.slug, attachments=[("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")])
    assert response.status_code == 422
    assert re.search(r'id="attachments-error">Attach at most 2 files\.<', response.get_data(as_text=True))
    assert 'value="Export times out"' in response.get_data(as_text=True)
    assert count_tickets(tickets_rpc, acme) == 0


def test_files_larger_than_allowed_in_all_are_a_413_on_the_page(small_files, http, acme, tickets_rpc):
    at_the_limit = submit(http, acme.slug, attachments=[("a.bin", b"a" * (MB - 400)), ("b.bin", b"b" * 400)])
    assert at_the_limit.status_code == 200
    over = submit(http, acme.slug, attachments=[("a.bin", b"a" * (MB - 400)), ("b.bin", b"b" * 401)])
    assert over.status_code == 413
    assert re.search(r'id="attachments-error">The attachments are larger than 1 MB in all', over.get_data(as_text=True))
    # A body past what the form could ever need is not read at all: the same answer, on the page.
    huge = submit(http, acme.slug, attachments=[("big.bin", b"x" * (MB + 300_000))])
    assert huge.status_code == 413 and 'id="attachments-error">The attachments are larger' in huge.get_data(as_text=True)
    assert count_tickets(tickets_rpc, acme) == 1


def test_ten_megabytes_of_files_in_all_is_the_default_limit(http, acme, tickets_rpc):
    over = submit(http, acme.slug, attachments=[("a.bin", b"a" * (5 * 1024 * 1024)), ("b.bin", b"b" * (5 * 1024 * 1024 + 1))])
    assert over.status_code == 413
    assert "The attachments are larger than 10 MB in all" in over.get_data(as_text=True)
    six = submit(http, acme.slug, attachments=[(f"{n}.txt", b"n") for n in range(6)])
    assert six.status_code == 422 and "Attach at most 5 files." in six.get_data(as_text=True)
    assert count_tickets(tickets_rpc, acme) == 0


@pytest.fixture
def tight_form_limits(gateway_settings):
    gateway_settings.update(SUPPORT_FORM_PER_IP=2, SUPPORT_FORM_PER_EMAIL=2, SUPPORT_FORM_WINDOW_SECONDS=300,
                            TRUSTED_PROXIES=1)


def test_submissions_per_address_are_limited_with_the_wait_in_words(tight_form_limits, http, acme, tickets_rpc):
    ip = {"X-Forwarded-For": "203.0.113.5"}
    for n in range(2):
        assert submit(http, acme.slug, headers=ip, email=f"c{n}@example.com").status_code == 200
    limited = submit(http, acme.slug, headers=ip, email="c9@example.com")
    assert limited.status_code == 429 and 290 <= int(limited.headers["Retry-After"]) <= 300
    assert "Try again in 5 minutes." in limited.get_data(as_text=True)
    assert 'value="c9@example.com"' in limited.get_data(as_text=True)  # what was typed stays
    assert submit(http, acme.slug, headers={"X-Forwarded-For": "203.0.113.6"}, email="c9@example.com").status_code == 200
    assert count_tickets(tickets_rpc, acme) == 3


def test_submissions_per_email_address_are_limited_across_addresses(tight_form_limits, http, acme, tickets_rpc):
    for n in range(2):
        assert submit(http, acme.slug, headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code == 200
    limited = submit(http, acme.slug, headers={"X-Forwarded-For": "198.51.100.9"}, email=EMAIL.upper())
    assert limited.status_code == 429 and "Try again in" in limited.get_data(as_text=True)
    assert count_tickets(tickets_rpc, acme) == 2


def test_the_created_email_brings_the_signed_tracking_link(http, acme, notifier_service, smtp_sink, tracker_projector):
    number = ticket_number_in(submit(http, acme.slug))
    [mail] = wait_for(lambda: smtp_sink.for_ticket(number), timeout=15, message="the created e-mail")
    assert mail.rcpt_tos == [EMAIL] or [r.lower() for r in mail.rcpt_tos] == [EMAIL.lower()]
    token = re.search(r"/track-ticket/([A-Za-z0-9_=-]+)", mail.part("plain")).group(1)
    assert TRACKING_LINKS.read_token(token) == (number, EMAIL.lower())
    # The link opens the ticket and its conversation (once the projector has it).
    page = wait_for(lambda: (r := http.get(f"/track-ticket/{token}")).status_code == 200 and r, timeout=10,
                    message="the tracker to know the ticket")
    text = page.get_data(as_text=True)
    assert "Export times out" in text and "The yearly export fails after 30 seconds." in text
    assert 'id="conversation"' in text
