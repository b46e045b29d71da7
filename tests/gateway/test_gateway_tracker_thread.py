"""The ticket's conversation on the public tracker: the customer sees the public thread (never an
internal note), adds messages with files, and downloads the thread's files, only as downloads and
only through their own ticket's signed link. Real tickets service and tracker projector."""
import base64
import re

import pytest
import sqlalchemy as sa

from services.tracker_gateway.public import public_csrf
from shared.testing import TRACKING_LINKS, wait_for
from tests.gateway.public_forms import EMAIL, files, hidden, submit, ticket_number_in

INTERNAL = "Internal: customer owes us two invoices"


@pytest.fixture
def acme(tenants, tickets_service, tracker_projector):
    return tenants[0]


def agent_says(tickets_rpc, number, body, visibility="public", attachments=(), client_id=None):
    message = {"body": body, "visibility": visibility, "author_type": "agent", "author_name": "Ann Archer",
               "author_email": "ann@acme.example", "channel": "agent", "attachments": list(attachments)}
    return tickets_rpc.add_message(number, message, client_id=client_id)["message"]


def b64(data):
    return base64.b64encode(data).decode()


def web_ticket(http, tenant, email=EMAIL, **fields):
    """A ticket through the web form, with a file, and its signed link once the tracker knows it."""
    number = ticket_number_in(submit(http, tenant.slug, attachments=[("report.csv", b"a,b\n1,2\n")], email=email, **fields))
    token = TRACKING_LINKS.make_token(number, email)
    wait_for(lambda: http.get(f"/track-ticket/{token}").status_code == 200, timeout=10, message=f"{number} tracked")
    return number, token


def page_of(http, token):
    response = http.get(f"/track-ticket/{token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def download_links(page):
    return re.findall(r'href="(/track-ticket/[^"]+/attachments/[^"]+)" download>([^<]+)<', page)


def test_the_lookup_and_the_link_show_the_public_thread_and_never_an_internal_note(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    agent_says(tickets_rpc, number, "We are looking into it.", attachments=[
        {"filename": "fix.txt", "content_type": "text/plain", "data_b64": b64(b"try this")}])
    agent_says(tickets_rpc, number, INTERNAL, visibility="internal", attachments=[
        {"filename": "secret-ledger.xlsx", "content_type": "application/octet-stream", "data_b64": b64(b"$$$")}])
    looked_up = http.post("/track-ticket", data={"ticket": number, "email": EMAIL})
    assert looked_up.status_code == 200
    for page in (looked_up.get_data(as_text=True), page_of(http, token)):
        assert "The yearly export fails after 30 seconds." in page and "We are looking into it." in page
        assert "owes us" not in page and "secret-ledger" not in page
        assert re.search(r'<span class="who">You</span>', page) and re.search(r'<span class="who">Ann Archer</span>', page)
        assert "ann@acme.example" not in page  # the agent's address is not the customer's business
        assert [name for _, name in download_links(page)] == ["report.csv", "fix.txt"]
        # The description is the first message: shown once.
        assert page.count("The yearly export fails after 30 seconds.") == 1


def test_only_a_match_sets_the_reply_forms_cookie_and_misses_stay_identical(http, acme):
    number, _ = web_ticket(http, acme)
    http.delete_cookie(public_csrf.COOKIE)
    misses = [http.post("/track-ticket", data={"ticket": t, "email": e})
              for t, e in ((number, "someone@else.com"), ("TKT-09999", EMAIL), ("junk", EMAIL))]
    assert {r.status_code for r in misses} == {404} and len({r.data for r in misses}) == 1
    assert not any("Set-Cookie" in r.headers for r in misses)
    hit = http.post("/track-ticket", data={"ticket": number, "email": EMAIL})
    assert public_csrf.COOKIE in hit.headers["Set-Cookie"]


def reply(http, token, body="Here is the log you asked for.", attachments=(), page=None, headers=None, **tokens):
    page = page_of(http, token) if page is None else page
    data = {"csrf_token": hidden(page, "csrf_token"), "form_id": hidden(page, "form_id"), "body": body, **tokens}
    if attachments:
        data["attachments"] = files(*attachments)
    return http.post(f"/track-ticket/{token}/messages", data=data, content_type="multipart/form-data", headers=headers or {})


def test_the_customer_adds_a_message_with_a_file(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    sent = reply(http, token, attachments=[("debug.log", b"trace\n")])
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/track-ticket/{token}?sent=1#conversation")
    [_, message] = tickets_rpc.list_messages(number)
    assert (message["author_type"], message["channel"], message["visibility"], message["author_email"],
            message["author_name"], message["body"]) == (
        "customer", "tracker", "public", EMAIL, "Kira Nakamura", "Here is the log you asked for.")
    assert [(a["filename"], a["size"]) for a in message["attachments"]] == [("debug.log", 6)]
    shown = http.get(f"/track-ticket/{token}?sent=1").get_data(as_text=True)
    assert "Your message has been added to the conversation." in shown and "Here is the log you asked for." in shown
    assert "debug.log" in shown


def test_a_file_alone_is_a_message_and_an_empty_one_is_refused(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    empty = reply(http, token, body="   ")
    assert empty.status_code == 422
    assert re.search(r'id="reply-body-error" role="alert">Write a message or attach a file\.<', empty.get_data(as_text=True))
    assert reply(http, token, body="", attachments=[("photo.jpg", b"\xff\xd8")]).status_code == 303
    assert len(tickets_rpc.list_messages(number)) == 2


def test_a_double_submit_adds_one_message(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    page = page_of(http, token)
    assert reply(http, token, page=page).status_code == reply(http, token, page=page).status_code == 303
    assert len(tickets_rpc.list_messages(number)) == 2


def test_a_reply_without_the_pages_csrf_token_is_refused(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    forged = reply(http, token, csrf_token="forged-" * 6)
    assert forged.status_code == 403
    other_site = reply(http, token, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert len(tickets_rpc.list_messages(number)) == 1


def test_a_reply_through_a_bad_or_stale_link_opens_nothing(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    page = page_of(http, token)
    data = {"csrf_token": hidden(page, "csrf_token"), "form_id": hidden(page, "form_id"), "body": "hi"}
    answers = [http.post(f"/track-ticket/{bad}/messages", data=data) for bad in (
        "garbage", TRACKING_LINKS.make_token(number, "someone@else.com"), TRACKING_LINKS.make_token("TKT-09999", EMAIL))]
    assert {r.status_code for r in answers} == {404} and len({r.data for r in answers}) == 1
    assert "This tracking link is not valid" in answers[0].get_data(as_text=True)
    assert len(tickets_rpc.list_messages(number)) == 1


@pytest.fixture
def one_message_per_ticket(gateway_settings):
    gateway_settings.update(TRACKER_MESSAGES_PER_TICKET=1, TRACKER_MESSAGES_WINDOW_SECONDS=120)


def test_messages_are_rate_limited_with_the_wait_in_words(one_message_per_ticket, http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    assert reply(http, token).status_code == 303
    limited = reply(http, token, body="And another thing")
    assert limited.status_code == 429 and 110 <= int(limited.headers["Retry-After"]) <= 120
    assert "Too many messages from your network or on this ticket. Try again in 2 minutes." in limited.get_data(as_text=True)
    assert "And another thing" in limited.get_data(as_text=True)  # what was typed stays
    assert len(tickets_rpc.list_messages(number)) == 2


@pytest.fixture
def small_files(gateway_settings):
    gateway_settings.update(PUBLIC_ATTACHMENTS_MAX_FILES=2, PUBLIC_ATTACHMENTS_MAX_BYTES=1024 * 1024)


def test_oversize_and_too_many_files_are_said_next_to_the_attachments(small_files, http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    over = reply(http, token, attachments=[("a.bin", b"a" * (1024 * 1024 + 1))])
    assert over.status_code == 413
    assert re.search(r'id="reply-attachments-error" role="alert">The attachments are larger than 1 MB', over.get_data(as_text=True))
    many = reply(http, token, attachments=[("a", b"a"), ("b", b"b"), ("c", b"c")])
    assert many.status_code == 422 and "Attach at most 2 files." in many.get_data(as_text=True)
    assert len(tickets_rpc.list_messages(number)) == 1


def test_an_attachment_downloads_as_a_file_never_as_a_page(http, acme):
    _, token = web_ticket(http, acme)
    reply(http, token, attachments=[("évil page.html", b"<script>alert(1)</script>")])
    links = dict((name, href) for href, name in download_links(page_of(http, token)))
    response = http.get(links["évil page.html"])
    assert response.status_code == 200 and response.data == b"<script>alert(1)</script>"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%C3%A9vil%20page.html" in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_attachments_are_refused_across_tickets_tenants_internal_notes_and_bad_links(http, acme, tenants, tickets_rpc):
    globex = tenants[1]
    number, token = web_ticket(http, acme)
    other_number, other_token = web_ticket(http, acme, email="other@example.com")
    globex_number, globex_token = web_ticket(http, globex, email="g@example.com")
    note = agent_says(tickets_rpc, number, INTERNAL, visibility="internal", client_id=acme.client_id, attachments=[
        {"filename": "secret.txt", "content_type": "text/plain", "data_b64": b64(b"secret")}])
    own = download_links(page_of(http, token))[0][0]
    attachment_id = own.rsplit("/", 1)[1]
    assert http.get(own).status_code == 200
    foreign_ids = [download_links(page_of(http, t))[0][0].rsplit("/", 1)[1] for t in (other_token, globex_token)]
    refused = [http.get(f"/track-ticket/{token}/attachments/{i}") for i in (*foreign_ids, note["attachments"][0]["id"],
                                                                            "not-a-uuid", "00000000-0000-0000-0000-000000000000")]
    refused += [http.get(f"/track-ticket/{t}/attachments/{attachment_id}") for t in (other_token, globex_token)]
    refused.append(http.get(f"/track-ticket/forged/attachments/{attachment_id}"))
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert not any(r.headers.get("Content-Disposition") for r in refused)
    assert all(b"secret" not in r.data and b"a,b" not in r.data for r in refused)


def close_days_ago(tickets_rpc, tickets_engine, number, days):
    tickets_rpc.update_ticket(number, {"status": "closed"})
    with tickets_engine.begin() as connection:
        connection.execute(sa.text("UPDATE tickets SET closed_at = now() - make_interval(days => :days) "
                                   "WHERE ticket_number = :n"), {"n": number, "days": days})


def test_a_message_on_a_ticket_closed_long_ago_opens_a_new_ticket(http, acme, tickets_rpc, tickets_engine):
    number, token = web_ticket(http, acme)
    close_days_ago(tickets_rpc, tickets_engine, number, 30)
    response = reply(http, token, body="It is broken again.")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    [new] = re.findall(r"so your message opened a new ticket, (TKT-\d+)\.", page)
    assert new != number
    new_ticket = tickets_rpc.get_ticket(new)
    assert (new_ticket["related_ticket"], new_ticket["customer_email"]) == (number, EMAIL)
    assert [m["body"] for m in tickets_rpc.list_messages(new)] == ["It is broken again."]


def test_the_clients_reopen_window_decides_between_reopening_and_a_new_ticket(
        http, acme, tickets_rpc, tickets_engine, gateway_engine):
    """Closed 5 days ago: within the default 14 days the message reopens the ticket; once the client's
    admins set 3 days (as for e-mail replies), the same message opens a new ticket."""
    number, token = web_ticket(http, acme)
    close_days_ago(tickets_rpc, tickets_engine, number, 5)
    assert reply(http, token, body="Still broken.").status_code == 303
    assert tickets_rpc.get_ticket(number)["status"] == "open"

    with gateway_engine.begin() as connection:
        connection.execute(sa.text("UPDATE clients SET settings = CAST(:settings AS jsonb) WHERE slug = :slug"),
                           {"settings": '{"reopen_window_days": 3}', "slug": acme.slug})
    close_days_ago(tickets_rpc, tickets_engine, number, 5)
    page = reply(http, token, body="Broken once more.").get_data(as_text=True)
    [new] = re.findall(r"so your message opened a new ticket, (TKT-\d+)\.", page)
    assert new != number and tickets_rpc.get_ticket(new)["related_ticket"] == number


def test_the_ticket_still_shows_while_the_tickets_service_is_away(http, acme, tickets_service):
    number, token = web_ticket(http, acme)
    tickets_service.stop()
    response = http.get(f"/track-ticket/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and number in page and "Export times out" in page
    assert "Your conversation cannot be shown just now." in page


def test_markup_in_a_message_or_a_file_name_is_shown_never_run(http, acme, tickets_rpc):
    number, token = web_ticket(http, acme)
    agent_says(tickets_rpc, number, '<img src=x onerror="alert(1)">', attachments=[
        {"filename": '<script>alert(2)</script>.txt', "content_type": "text/html", "data_b64": b64(b"x")}])
    page = page_of(http, token)
    assert '<img src=x' not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page and "&lt;script&gt;alert(2)&lt;/script&gt;.txt" in page
