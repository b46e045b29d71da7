"""The tickets dashboard in Chromium: signing in and out, the list and its filters in the URL, the
detail panel (saving, sharing, copying, deleting, the timeline), errors in place, keyboard use."""
import re

import pytest
from playwright.sync_api import expect

from shared.testing import TRACKING_LINKS

pytestmark = pytest.mark.browser

RULE = "━" * 29


def clipboard(page):
    return page.evaluate("navigator.clipboard.readText()")


def row(page, number):
    return page.locator(f'.ticket-row[data-number="{number}"]')


def open_ticket(page, number):
    row(page, number).click()
    expect(page.locator("#p-number")).to_have_text(number)
    expect(page.locator("#p-save")).to_be_enabled()


def test_sign_in_shows_the_agent_and_client_and_sign_out_ends_the_login(page, ui_stack, ui_tenant):
    page.goto(ui_stack.url("/agent/tickets?status=open"))
    expect(page).to_have_url(re.compile(r"/agent/login\?next="))
    page.fill("#email", ui_tenant.ann.email)
    page.fill("#password", "not the password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Wrong e-mail address or password.")
    expect(page.locator("#email")).to_have_value(ui_tenant.ann.email)

    page.fill("#password", ui_tenant.ann.password)
    page.click("#login-submit")
    # Back where the agent was going, filter included.
    expect(page).to_have_url(ui_stack.url("/agent/tickets?status=open"))
    expect(page.locator("#who-name")).to_have_text("Ann Archer")
    expect(page.locator("#who-client")).to_have_text(ui_tenant.name)
    expect(page.locator('.mainnav a[aria-current="page"]')).to_have_text("Tickets")
    expect(page.locator('.mainnav [data-nav="chats"]')).to_have_text("Chats")

    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/agent/login\?signed_out=1$"))
    expect(page.locator(".notice")).to_have_text("You have signed out.")
    page.goto(ui_stack.url("/agent/tickets"))
    expect(page).to_have_url(re.compile(r"/agent/login\?next="))


def test_the_list_shows_each_tickets_essentials(signed_in, ben_api, ui_tenant):
    page = signed_in
    made = ben_api.create(title="Invoice shows the wrong VAT number", description="Our VAT id is GB123.\nSecond line.",
                          priority="high", category="billing", customer_name="Ravi Patel",
                          customer_email="ravi@example.com", assigned_to=ui_tenant.ben.email)
    line = row(page, made["ticket_number"])
    expect(line).to_be_visible(timeout=5000)
    expect(line.locator(".ticket-number")).to_have_text(made["ticket_number"])
    expect(line.locator(".row-title")).to_have_text("Invoice shows the wrong VAT number")
    expect(line.locator(".row-desc")).to_have_text("Our VAT id is GB123.")
    expect(line.locator(".chip.status-open")).to_have_text("Open")
    expect(line.locator(".chip.priority-high")).to_have_text("High")
    expect(line.locator(".row-customer")).to_have_text("Ravi Patel · ravi@example.com")
    expect(line.locator(".row-assignee")).to_have_text("Ben Baker")
    expect(line.locator(".row-created")).not_to_be_empty()
    expect(page.locator("#list-total")).to_have_text("(1)")


def test_filters_sort_and_pages_live_in_the_url(signed_in, ben_api, ui_stack):
    page = signed_in
    for n in range(22):
        ben_api.create(title=f"Routine request {n:02d}", priority="low")
    resolved = ben_api.create(title="Printer fixed", status="resolved")
    ben_api.create(title="Printer on fire", priority="urgent")
    expect(page.locator("#page-range")).to_have_text("1–20 of 24", timeout=5000)

    page.click("#page-next")
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator("#page-range")).to_have_text("21–24 of 24")
    expect(page.locator(".ticket-row")).to_have_count(4)

    page.select_option("#f-status", "resolved")
    expect(page).to_have_url(re.compile(r"status=resolved"))
    expect(page).not_to_have_url(re.compile(r"page="))
    expect(page.locator(".ticket-row")).to_have_count(1)
    expect(row(page, resolved["ticket_number"])).to_be_visible()

    page.select_option("#f-status", "")
    page.fill("#f-q", "printer")
    expect(page).to_have_url(re.compile(r"q=printer"))
    expect(page.locator(".ticket-row .row-title")).to_have_text(["Printer on fire", "Printer fixed"])
    page.select_option("#f-sort", "created_at")
    expect(page.locator(".ticket-row .row-title")).to_have_text(["Printer fixed", "Printer on fire"])

    # A bookmark opens the same view.
    bookmarked = page.url
    page.goto(ui_stack.url("/agent/tickets"))
    page.goto(bookmarked)
    expect(page.locator("#f-q")).to_have_value("printer")
    expect(page.locator("#f-sort")).to_have_value("created_at")
    expect(page.locator(".ticket-row .row-title")).to_have_text(["Printer fixed", "Printer on fire"])
    page.go_back()
    expect(page.locator(".ticket-row")).to_have_count(20)


def test_updating_status_and_priority_saves_and_grows_the_timeline(signed_in, ben_api, ui_tenant):
    page = signed_in
    made = ben_api.create(title="Cannot log in after password reset", customer_name="Kira Nakamura")
    open_ticket(page, made["ticket_number"])
    timeline = page.locator("#p-timeline li")
    expect(timeline.filter(has_text=re.compile(r"^Ticket created"))).to_have_count(1)
    # The notifier's "created" e-mail joins the timeline.
    expect(timeline.filter(has_text="E-mail “Ticket created” sent to kira@example.com")).to_have_count(1, timeout=10_000)
    before = timeline.count()

    page.select_option("#p-f-status", "in_progress")
    page.select_option("#p-f-priority", "urgent")
    page.select_option("#p-f-assigned_to", ui_tenant.ann.email)
    expect(page.locator("#p-dirty")).to_be_visible()
    page.click("#p-save")

    saved = page.locator("#p-saved")
    expect(saved).to_contain_text("Saved.")
    expect(saved).to_contain_text("Status: Open → In progress")
    expect(saved).to_contain_text("Priority: Medium → Urgent")
    expect(saved).to_contain_text("Assigned to: Unassigned → Ann Archer")
    expect(page.locator("#p-dirty")).to_be_hidden()
    expect(page.locator("#p-chips .chip.status-in_progress")).to_have_text("In progress")
    expect(row(page, made["ticket_number"]).locator(".chip.priority-urgent")).to_be_visible()
    expect(timeline.filter(has_text="Status: Open → In progress")).to_have_count(1)
    expect(timeline.filter(has_text="Priority: Medium → Urgent")).to_contain_text("by Ann Archer")
    expect(timeline).to_have_count(before + 3 + 1, timeout=10_000)  # three changes, one "updated" e-mail

    stored = ben_api.get(f"/api/entities/ticket/{made['ticket_number']}").json()
    assert (stored["status"], stored["priority"], stored["assigned_to"]) == ("in_progress", "urgent", ui_tenant.ann.email)

    page.click("#p-save")
    expect(saved).to_have_text("Nothing to save: no field was changed.")


def test_share_copy_number_and_tracking_link(signed_in, ben_api, ui_stack):
    page = signed_in
    made = ben_api.create(title="Support Issue from kirav9", customer_name="kirav9", customer_email="kiran1@gmail.com",
                          priority="urgent", category="technical")
    number = made["ticket_number"]
    open_ticket(page, number)

    page.click("#p-share")
    expect(page.locator(".toast")).to_contain_text("Message for the customer copied")
    assert clipboard(page) == "\n".join([
        f"📋 **Support Ticket Reference: {number}**",
        "",
        "✅ **Status:** OPEN",
        "⚡ **Priority:** URGENT",
        "📂 **Category:** technical",
        "",
        "📌 **Issue Title:** Support Issue from kirav9",
        "👤 **Customer Name:** kirav9",
        "📧 **Email:** kiran1@gmail.com",
        "",
        RULE,
        "",
        "Thank you for contacting us! Your support ticket has been created and assigned to our support team.",
        "",
        "We will review your issue and get back to you as soon as possible.",
        "",
        "**Please save this Reference ID for your records:**",
        f"🔖 **{number}**",
        "",
        "You can use this ID to track the status of your ticket.",
    ])

    page.click("#p-copy-number")
    expect(page.locator(".toast").last).to_contain_text(f"Copied {number}")
    assert clipboard(page) == number

    page.click("#p-copy-link")
    expect(page.locator(".toast").last).to_contain_text("Tracking link copied")
    link = clipboard(page)
    assert link == page.locator("#p-track-url").input_value()
    prefix = ui_stack.url("/track-ticket/")
    assert link.startswith(prefix) and TRACKING_LINKS.read_token(link[len(prefix):]) == (number, "kiran1@gmail.com")


def test_a_ticket_without_customer_email_points_to_the_tracker_form(signed_in, ben_api, ui_stack):
    page = signed_in
    made = ben_api.create(title="Walk-in customer", customer_email=None)
    open_ticket(page, made["ticket_number"])
    expect(page.locator("#p-track-url")).to_have_value(ui_stack.url("/track-ticket"))
    expect(page.locator("#p-track-hint")).to_contain_text(made["ticket_number"])


def test_delete_asks_first(signed_in, ben_api):
    page = signed_in
    made = ben_api.create(title="Duplicate of another ticket")
    number = made["ticket_number"]
    open_ticket(page, number)

    page.click("#p-delete")
    expect(page.locator("#confirm-delete")).to_be_visible()
    expect(page.locator("#confirm-number")).to_have_text(number)
    page.click("#confirm-cancel")
    expect(page.locator("#confirm-delete")).to_be_hidden()
    expect(row(page, number)).to_be_visible()

    page.click("#p-delete")
    page.click("#confirm-ok")
    expect(page.locator(".toast").last).to_have_text(f"{number} deleted")
    expect(row(page, number)).to_have_count(0)
    expect(page.locator("#panel")).to_be_hidden()
    assert ben_api.get(f"/api/entities/ticket/{number}").status_code == 404


def test_markup_in_a_ticket_is_shown_as_text_and_never_runs(signed_in, ben_api):
    page = signed_in
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    # Positive control: the listener does see a dialog when one opens.
    page.evaluate("alert('control')")
    hostile = "<img src=x onerror=alert(1)>"
    made = ben_api.create(title=hostile, description="<script>alert(2)</script>", customer_name="<b>Eve</b>")
    line = row(page, made["ticket_number"])
    expect(line.locator(".row-title")).to_have_text(hostile, timeout=5000)
    expect(line.locator(".row-desc")).to_have_text("<script>alert(2)</script>")
    line.click()
    expect(page.locator("#p-title")).to_have_text(hostile)
    expect(page.locator("#p-description")).to_have_text("<script>alert(2)</script>")
    expect(page.locator("#p-customer-name")).to_have_text("<b>Eve</b>")
    assert page.locator("#ticket-list img, #panel img, #panel script, #panel b").count() == 0
    page.click("#p-share")  # the message is built as text too
    assert hostile in clipboard(page)
    assert dialogs == ["control"]


def test_a_validation_error_is_shown_next_to_its_field(signed_in, ben_api):
    page = signed_in
    made = ben_api.create(title="Long story")
    open_ticket(page, made["ticket_number"])
    notes = page.locator("#p-f-resolution_notes")
    notes.fill("x" * 20_001)
    expect(page.locator("#p-notes-count")).to_have_class(re.compile("over"))
    page.click("#p-save")
    error = page.locator("#p-e-resolution_notes")
    expect(error).to_have_text("Longer than maximum length 20000.")
    expect(notes).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#p-alert")).to_have_text("Not saved: please correct the highlighted field.")
    assert len(notes.input_value()) == 20_001  # the agent's text is kept

    notes.fill("Reset the password and cleared the lock-out.")
    page.click("#p-save")
    expect(page.locator("#p-saved")).to_contain_text("Resolution notes updated")
    expect(error).to_be_hidden()


def test_keyboard_search_move_open_and_close(signed_in, ben_api):
    page = signed_in
    first = ben_api.create(title="First by keyboard")
    second = ben_api.create(title="Second by keyboard")
    expect(page.locator(".ticket-row")).to_have_count(2, timeout=5000)

    page.keyboard.press("/")
    expect(page.locator("#f-q")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(row(page, second["ticket_number"])).to_be_focused()  # newest first
    page.keyboard.press("j")
    expect(row(page, first["ticket_number"])).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#p-number")).to_have_text(first["ticket_number"])
    expect(page).to_have_url(re.compile(f"ticket={first['ticket_number']}"))
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    expect(page).not_to_have_url(re.compile("ticket="))
    expect(row(page, first["ticket_number"])).to_be_focused()
