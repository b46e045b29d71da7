"""The one-click CSAT pages (public/rating.py) over the real tickets service: opening a link records
nothing (a mail scanner's GET or HEAD counts for nothing), the confirm page's POST records, a second
click changes, a comment joins; forged, expired and earlier-round links are refused with a clear page."""
import time

import pytest

from shared.contracts.rating_links import DEFAULT_MAX_AGE_DAYS, RatingLinks
from shared.contracts.tracking_links import DEV_SECRET

LINKS = RatingLinks(DEV_SECRET)


@pytest.fixture
def resolved(tickets_rpc):
    ticket = tickets_rpc.create_ticket({"title": "Export fails", "description": "After 30 s.", "client_id": "acme",
                                        "customer_email": "kira@example.com"})
    return tickets_rpc.update_ticket(ticket["id"], {"status": "resolved"}, actor="ann@acme.example")


def link(ticket, choice="good", round_=None):
    token = LINKS.make_token(ticket["id"], round_ or ticket["resolution_round"])
    return token, f"/rate/{token}?r={choice}"


def page(response):
    return response.get_data(as_text=True)


def test_opening_the_link_records_nothing_and_the_confirm_post_records(http, tickets_rpc, resolved):
    token, url = link(resolved, "bad")
    # What a link scanner does: GET and HEAD (with and without the query), any number of times.
    for _ in range(2):
        assert http.head(url).status_code == 200
        opened = http.get(url)
        assert opened.status_code == 200
    assert opened.headers["Cache-Control"] == "no-store" and "noindex" in opened.headers["X-Robots-Tag"]
    text = page(opened)
    assert resolved["ticket_number"] in text and 'value="bad" checked' in text and 'value="good" checked' not in text
    assert tickets_rpc.get_ticket(resolved["id"])["rating"] is None
    assert tickets_rpc.list_ratings(resolved["id"]) == []

    sent = http.post(f"/rate/{token}", data={"rating": "bad"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/rate/{token}/thanks")
    thanks = http.get(sent.headers["Location"])
    assert thanks.status_code == 200 and "Thank you!" in page(thanks) and 'name="comment"' in page(thanks)
    assert tickets_rpc.get_ticket(resolved["id"])["rating"] == "bad"


def test_a_second_click_changes_the_rating_and_a_comment_joins_it(http, tickets_rpc, resolved):
    token, _ = link(resolved)
    http.post(f"/rate/{token}", data={"rating": "okay"})
    http.post(f"/rate/{token}", data={"rating": "good"})
    http.post(f"/rate/{token}", data={"rating": "good", "comment": "Quick and kind."})
    assert tickets_rpc.get_ticket(resolved["id"])["rating"] == "good"
    assert [(r["rating"], r["comment"]) for r in tickets_rpc.list_ratings(resolved["id"])] == [
        ("okay", None), ("good", "Quick and kind.")]
    again = page(http.get(link(resolved, "bad")[1]))
    assert "you rated it <strong>Good</strong>" in again and "Quick and kind." in again


def test_forged_expired_and_earlier_round_links_are_refused_with_a_clear_page(http, tickets_rpc, resolved):
    token, url = link(resolved)
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for bad in (forged, "nonsense", "x" * 600, LINKS.make_token(resolved["id"], 1)[::-1]):
        for response in (http.get(f"/rate/{bad}?r=good"), http.post(f"/rate/{bad}", data={"rating": "good"})):
            assert response.status_code == 400 and "not valid" in page(response)
    old = LINKS.make_token(resolved["id"], 1, now=time.time() - DEFAULT_MAX_AGE_DAYS * 86400 - 60)
    for response in (http.get(f"/rate/{old}?r=good"), http.post(f"/rate/{old}", data={"rating": "good"})):
        assert response.status_code == 410 and "expired" in page(response)
    # Reopened: the link of the first resolution no longer works; resolved again, a new link does.
    tickets_rpc.update_ticket(resolved["id"], {"status": "open"})
    assert http.get(url).status_code == 410
    again = tickets_rpc.update_ticket(resolved["id"], {"status": "resolved"})
    refused = http.post(f"/rate/{token}", data={"rating": "good"})
    assert refused.status_code == 410 and "earlier resolution" in page(refused)
    fresh, _ = link(again)
    assert http.post(f"/rate/{fresh}", data={"rating": "okay"}).status_code == 303
    assert tickets_rpc.get_ticket(resolved["id"])["rating"] == "okay"
    assert tickets_rpc.list_ratings(resolved["id"])[-1]["resolution_round"] == 2


def test_a_missing_or_unknown_choice_is_a_422_page_and_records_nothing(http, tickets_rpc, resolved):
    token, _ = link(resolved)
    for data in ({}, {"rating": "great"}, {"rating": "good", "comment": "x" * 2001}):
        response = http.post(f"/rate/{token}", data=data)
        assert response.status_code == 422 and 'id="rate-error"' in page(response)
    assert tickets_rpc.list_ratings(resolved["id"]) == []


def test_the_rating_shows_on_the_tracker_page_and_its_timeline(http, tickets_rpc, tracker_projector, resolved):
    from shared.testing import TRACKING_LINKS, wait_for
    token, _ = link(resolved)
    http.post(f"/rate/{token}", data={"rating": "good"})
    number = resolved["ticket_number"]
    track = lambda: http.get("/api/public/track", query_string={"ticket": number, "email": "kira@example.com"})  # noqa: E731
    wait_for(lambda: track().status_code == 200 and track().get_json()["rating"] == "good", timeout=10,
             message="the rating on the tracker")
    body = track().get_json()
    assert body["rated_at"] and body["timeline"][-1]["text"] == "You rated the resolution: Good"
    page_text = page(http.get(f"/track-ticket/{TRACKING_LINKS.make_token(number, 'kira@example.com')}"))
    assert 'id="ticket-rating"' in page_text and "Good" in page_text
