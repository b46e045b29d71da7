"""CSAT and the customer's phone in Chromium: the resolution e-mail's rating link opens a confirm page with
the choice preselected (opening records nothing), the customer sends it, changes it and adds a comment; the
rating shows on the agent's ticket panel (facts and timeline, live) and on the customer's tracker page. The
new-ticket dialog and the panel take a phone number in E.164 (spaces allowed, a wrong one said next to its
field). An admin turns SMS updates on from the team page; an agent is not shown the setting. Screenshots
for docs/screenshots/."""
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from shared.testing import wait_for
from tests.fixtures.ui import sign_in
from tests.ui.test_ui_customer import tracker_projector  # noqa: F401  (the tracker's read model beside the stack)
from tests.ui.test_ui_screenshots import shoot

pytestmark = pytest.mark.browser

CUSTOMER = "lena.fischer@northwind.example"


def here(stack, url):
    parts = urlsplit(url)
    return stack.url(parts.path + (f"?{parts.query}" if parts.query else ""))


def resolution_mail(stack, number):
    return wait_for(lambda: [m for m in stack.smtp.for_ticket(number)
                             if CUSTOMER in m.rcpt_tos and "has been resolved" in m.subject],
                    timeout=15, message="the resolution e-mail")[0]


def test_a_rating_from_the_email_shows_on_the_panel_and_the_tracker(signed_in, ui_stack, ben_api,
                                                                   tracker_projector):  # noqa: F811
    agent = signed_in
    ticket = ben_api.create(title="Invoices export as empty CSV", customer_email=CUSTOMER, customer_name="Lena Fischer")
    number = ticket["ticket_number"]
    agent.locator(f'.ticket-row[data-number="{number}"]').click()
    expect(agent.locator("#p-rating")).to_have_text("—")
    ben_api.update(ticket["id"], status="resolved", resolution_notes="Fixed the export's encoding.")
    text = resolution_mail(ui_stack, number).part("plain")
    # The notifier signs for its PUBLIC_BASE_URL (the tests' desk.example.com): the same paths on this gateway.
    links = {choice: here(ui_stack, url) for choice, url in re.findall(r"^\s+(Good|Okay|Bad):\s+(\S+)$", text, re.M)}
    assert set(links) == {"Good", "Okay", "Bad"} and links["Bad"].endswith("?r=bad") and "/rate/" in links["Bad"]
    tracking = here(ui_stack, re.search(r"(http\S+/track-ticket/\S+)", text).group(1))

    customer = agent.context.new_page()
    customer.goto(links["Bad"])
    expect(customer.get_by_role("heading", name=f"How did we do with {number}?")).to_be_visible()
    expect(customer.get_by_label("Bad")).to_be_checked()
    assert ben_api.get(f"/api/entities/ticket/{number}").json()["rating"] is None  # opening counts for nothing
    customer.get_by_label("Good").check()
    shoot(customer, "csat-confirm.png")
    customer.get_by_role("button", name="Send my rating").click()
    expect(customer.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(customer.locator("#rate-recorded")).to_contain_text(f"Your rating of {number}: Good")
    customer.get_by_label("Comment").fill("Quick answer, and the export works again.")
    shoot(customer, "csat-thanks.png")
    customer.get_by_role("button", name="Save").click()
    expect(customer.locator("#rate-recorded")).to_contain_text("with your comment")

    # The agent's open panel follows live: the rating in the facts and a line in the timeline.
    expect(agent.locator("#p-rating-badge")).to_have_text("🙂 Good", timeout=10_000)
    expect(agent.locator("#p-timeline")).to_contain_text("Customer rated the resolution 🙂 Good", timeout=10_000)
    agent.locator("#p-rating").scroll_into_view_if_needed()
    shoot(agent, "tickets-detail-rating.png")

    # A second click changes it; the latest counts everywhere.
    customer.goto(links["Okay"])
    expect(customer.locator(".lead")).to_contain_text("you rated it Good")
    customer.get_by_role("button", name="Send my rating").click()
    expect(customer.locator("#rate-recorded")).to_contain_text("Okay")
    expect(agent.locator("#p-rating-badge")).to_have_text("😐 Okay", timeout=10_000)
    expect(agent.locator("#p-timeline")).to_contain_text("Customer changed their rating to 😐 Okay (was Good)")

    customer.goto(tracking)
    expect(customer.locator("#ticket-rating")).to_have_text("😐 Okay", timeout=10_000)
    expect(customer.locator(".timeline")).to_contain_text("You rated the resolution: Okay")
    shoot(customer, "tracker-rating.png")
    customer.close()


def test_a_forged_rating_link_is_a_clear_page(page, ui_stack):
    response = page.goto(ui_stack.url("/rate/not-a-real-token?r=good"))
    assert response.status == 400
    expect(page.get_by_role("alert")).to_have_text(re.compile("This rating link is not valid"))


def test_the_phone_number_in_the_new_ticket_dialog_and_the_panel(signed_in):
    page = signed_in
    page.click("#new-ticket-open")
    page.fill("#nt-customer_name", "Omar Haddad")
    page.fill("#nt-customer_phone", "0044 7700 900123")
    page.fill("#nt-title-input", "Call back about the renewal")
    page.fill("#nt-description", "Phoned in; wants a call back.")
    page.click("#nt-submit")
    expect(page.locator("#nt-e-customer_phone")).to_have_text(re.compile("international form"))
    page.fill("#nt-customer_phone", "+44 7700 900123")
    page.click("#nt-submit")
    expect(page.locator("#p-customer-phone")).to_have_text("+447700900123", timeout=10_000)
    expect(page.locator("#p-f-customer_phone")).to_have_value("+447700900123")
    page.fill("#p-f-customer_phone", "+1 (415) 555-0123")
    page.click("#p-save")
    expect(page.locator("#p-customer-phone")).to_have_text("+14155550123")
    expect(page.locator("#p-f-customer_phone")).to_have_value("+14155550123")
    expect(page.locator("#p-dirty")).to_be_hidden()
    page.fill("#p-f-customer_phone", "12345")
    page.click("#p-save")
    expect(page.locator("#p-e-customer_phone")).to_contain_text("Not a valid phone number")


def test_an_admin_sets_the_days_a_closed_ticket_can_be_reopened_and_a_wrong_value_is_said_at_the_field(
        signed_in, ui_stack, ben_api):
    page = signed_in  # Ann, an admin
    page.goto(ui_stack.url("/agent/team"))
    field = page.locator("#reopen-window")
    expect(field).to_have_value("14")
    field.fill("0")
    page.click("#client-settings-save")
    expect(page.locator("#reopen-window-error")).to_contain_text("greater than or equal to 1")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value("0")  # what was typed stays, to be corrected
    assert ben_api.get("/api/client").json()["settings"]["reopen_window_days"] == 14
    field.fill("7")
    page.click("#client-settings-save")
    expect(page.locator("#team-done")).to_contain_text("closed more than 7 days ago opens a new ticket")
    expect(page.locator("#reopen-window")).to_have_value("7")
    expect(page.locator("#reopen-window-error")).to_have_count(0)
    assert ben_api.get("/api/client").json()["settings"]["reopen_window_days"] == 7


def test_an_admin_turns_sms_updates_on_and_an_agent_does_not_see_the_setting(signed_in, ui_stack, ui_tenant, ben_api,
                                                                              browser):
    page = signed_in  # Ann, an admin
    page.goto(ui_stack.url("/agent/team"))
    expect(page.locator("#sms-updates")).not_to_be_checked()
    page.locator("#sms-updates").check()
    page.click("#client-settings-save")
    expect(page.locator("#team-done")).to_contain_text("SMS updates on")
    expect(page.locator("#sms-updates")).to_be_checked()
    assert ben_api.get("/api/client").json()["settings"]["sms_updates"] is True
    context = browser.new_context()
    try:
        agent = sign_in(context.new_page(), ui_stack, ui_tenant.ben)
        agent.goto(ui_stack.url("/agent/team"))
        expect(agent.locator("#team-forbidden")).to_be_visible()
        expect(agent.locator("#sms-updates")).to_have_count(0)
    finally:
        context.close()
