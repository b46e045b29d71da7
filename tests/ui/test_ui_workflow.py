"""Issue 14 in Chromium: bulk actions on the list (checkboxes, shift-click ranges, select all matching,
the bulk bar, delete with a confirmation), assign to me from the panel, the sidebar's queues whose
counts follow the live stream, saved views, and canned replies picked, changed and deleted."""
import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.ui import SCREENSHOTS, AgentApi, sign_in

pytestmark = pytest.mark.browser


def box(page, number):
    return page.locator(f'input.row-select[data-ticket-number="{number}"]')


def count(page, queue):
    return page.locator(f'.queues [data-count="{queue}"]')


def test_shift_click_selects_a_range_and_the_bar_assigns_and_prioritises_them(signed_in, ben_api, ui_tenant):
    page = signed_in
    made = [ben_api.create(title=f"Printer {i} jammed", priority="low") for i in range(6)]
    numbers = [ticket["ticket_number"] for ticket in reversed(made)]  # newest first, as the list shows them
    expect(page.locator(".ticket-row")).to_have_count(6, timeout=5000)
    expect(count(page, "unassigned")).to_have_text("6", timeout=5000)

    box(page, numbers[1]).click()
    box(page, numbers[4]).click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("4 tickets selected")
    for number in numbers[1:5]:
        expect(box(page, number)).to_be_checked()
    for number in (numbers[0], numbers[5]):
        expect(box(page, number)).not_to_be_checked()
    expect(page.locator("#select-page")).to_have_js_property("indeterminate", True)
    page.select_option("#bulk-assignee", ui_tenant.ann.email)
    page.select_option("#bulk-priority", "high")
    page.mouse.move(0, 0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "tickets-bulk.png", animations="disabled")
    page.click("#bulk-apply")

    expect(page.locator("#bulk-result")).to_have_text("Changed 4 tickets", timeout=10_000)
    expect(page.locator("#bulk-bar")).to_be_hidden()
    for number in numbers[1:5]:
        line = page.locator(f'.ticket-row[data-number="{number}"]')
        expect(line.locator(".row-assignee")).to_have_text("Ann Archer", timeout=5000)
        expect(line.locator(".chip-priority")).to_have_text("High")
    expect(page.locator(f'.ticket-row[data-number="{numbers[0]}"] .row-assignee')).to_have_text("Unassigned")
    # The queues followed the change through the live stream.
    expect(count(page, "mine")).to_have_text("4", timeout=5000)
    expect(count(page, "unassigned")).to_have_text("2")
    history = ben_api.get(f"/api/entities/ticket/{numbers[2]}/history").json()["items"]
    assert {(h["field"], h["actor"]) for h in history if h["action"] == "updated"} == {
        ("assigned_to", ui_tenant.ann.email), ("priority", ui_tenant.ann.email)}


def test_select_all_matching_the_filter_then_delete_after_confirming(signed_in, ben_api, ui_tenant):
    page = signed_in
    for i in range(23):
        ben_api.create(title=f"Spam {i}", category="other")
    ben_api.create(title="A real question", category="billing")
    page.select_option("#f-category", "other")
    expect(page.locator("#page-range")).to_have_text("1–20 of 23", timeout=5000)
    page.check("#select-page")
    expect(page.locator("#bulk-count")).to_have_text("20 tickets selected")
    page.click("#select-matching")
    expect(page.locator("#bulk-count")).to_have_text("All 23 tickets matching this filter selected")
    page.click("#bulk-delete")
    expect(page.locator("#bulk-confirm-count")).to_have_text("23 tickets")
    page.click("#bulk-confirm button[value=cancel]")
    expect(page.locator("#bulk-count")).to_have_text("All 23 tickets matching this filter selected")
    page.click("#bulk-delete")
    page.click("#bulk-confirm-ok")
    expect(page.locator("#bulk-result")).to_have_text("Deleted 23 tickets", timeout=10_000)
    expect(page.locator("#list-empty")).to_be_visible(timeout=5000)
    page.click("#f-clear")
    expect(page.locator(".ticket-row")).to_have_count(1, timeout=5000)


def test_queue_counts_follow_live_events_and_open_their_lists(signed_in, ben_api, ui_tenant):
    page = signed_in
    expect(count(page, "open")).to_have_text("0", timeout=5000)
    ticket = ben_api.create(title="Webhook deliveries delayed")
    expect(count(page, "open")).to_have_text("1", timeout=5000)
    expect(count(page, "unassigned")).to_have_text("1")
    ben_api.update(ticket["id"], assigned_to=ui_tenant.ann.email)
    expect(count(page, "mine")).to_have_text("1", timeout=5000)
    expect(count(page, "unassigned")).to_have_text("0")
    # How long after the event the counts showed (docs/performance.md has the figures).
    latency = int(page.locator("#queues").get_attribute("data-refresh-ms"))
    assert 0 <= latency < 1000, latency
    ben_api.update(ticket["id"], status="pending")
    expect(count(page, "pending")).to_have_text("1", timeout=5000)
    expect(count(page, "mine")).to_have_text("0")

    page.click('.queues [data-queue="pending"]')
    expect(page).to_have_url(re.compile(r"\?queue=pending$"))
    expect(page.locator('.queues a[aria-current="page"]')).to_contain_text("Pending")
    expect(page.locator(".ticket-row")).to_have_count(1, timeout=5000)
    page.click('.queues [data-queue="unassigned"]')
    expect(page.locator("#list-empty")).to_be_visible(timeout=5000)


def test_assign_to_me_from_the_panel_and_save_a_view(signed_in, ben_api, ui_tenant):
    page = signed_in
    ticket = ben_api.create(title="Cannot log in", priority="urgent")
    page.locator(f'.ticket-row[data-number="{ticket["ticket_number"]}"]').click()
    expect(page.locator("#p-save")).to_be_enabled()
    page.click("#p-assign-me")
    expect(page.locator("#p-f-assigned_to")).to_have_value(ui_tenant.ann.email, timeout=5000)
    expect(count(page, "mine")).to_have_text("1", timeout=5000)

    page.select_option("#f-priority", "urgent")
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    page.click("#save-view")
    page.fill("#view-name", "Urgent <b>now</b>")
    page.check("#view-shared")
    page.click("#view-save")
    view = page.locator("#view-list .queue-link")
    expect(view).to_contain_text("Urgent <b>now</b>", timeout=5000)  # shown as text, never as HTML
    expect(view.locator(".queue-count")).to_have_text("1")
    expect(view).to_have_attribute("aria-current", "page")
    page.mouse.move(0, 0)
    page.screenshot(path=SCREENSHOTS / "tickets-queues.png", animations="disabled")
    ben_api.create(title="Site down", priority="urgent")
    expect(view.locator(".queue-count")).to_have_text("2", timeout=5000)
    # Ben (an agent, not an admin) sees the shared view but cannot delete it.
    views = ben_api.get("/api/views").json()["items"]
    assert [(v["name"], v["shared"], v["editable"]) for v in views] == [("Urgent <b>now</b>", True, False)]
    assert ben_api.http.delete(ben_api.stack.url(f"/api/views/{views[0]['id']}"), timeout=10).status_code == 403


def test_a_view_is_renamed_and_given_the_lists_current_filters(signed_in, ben_api, ui_stack, ui_tenant):
    page = signed_in  # Ann
    ben_api.create(title="Cannot log in", priority="urgent")
    ben_api.create(title="Typo on the invoice", priority="low")
    page.select_option("#f-priority", "urgent")
    expect(page).to_have_url(re.compile(r"priority=urgent"))
    page.click("#save-view")
    page.fill("#view-name", "Hot")
    page.click("#view-save")
    view = page.locator("#view-list .queue-link")
    expect(view.locator(".queue-count")).to_have_text("1", timeout=5000)

    # Renamed only: the filters it keeps are its own, whatever the list shows now.
    page.select_option("#f-priority", "low")
    page.click("#view-list .view-edit")
    expect(page.locator("#view-dialog-title")).to_have_text("Change this view")
    expect(page.locator("#view-name")).to_have_value("Hot")
    page.fill("#view-name", "Hot tickets")
    expect(page.locator("#view-refilter")).not_to_be_checked()  # offered, not assumed
    page.screenshot(path=SCREENSHOTS / "views-edit.png", animations="disabled")
    page.click("#view-save")
    expect(view.locator(".queue-name")).to_have_text("Hot tickets", timeout=5000)
    expect(view).to_have_attribute("href", re.compile(r"priority=urgent"))

    # Given the list's current filters (low priority): its link and count follow.
    page.click("#view-list .view-edit")
    page.check("#view-refilter")
    page.click("#view-save")
    expect(view).to_have_attribute("href", re.compile(r"priority=low"), timeout=5000)
    expect(view.locator(".queue-count")).to_have_text("1")
    expect(page.locator("#view-list .view-item")).to_have_count(1)  # changed, not saved again
    (saved,) = AgentApi(ui_stack, ui_tenant.ann).get("/api/views").json()["items"]
    assert saved["name"] == "Hot tickets" and saved["filters"].get("priority") == "low"
    assert ben_api.get("/api/views").json()["items"] == []  # Ann's own view


def test_a_canned_reply_is_picked_with_the_keyboard_and_inserted_filled_in(signed_in, ui_stack, ui_tenant, ben_api):
    page = signed_in
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    ann = AgentApi(ui_stack, ui_tenant.ann)
    made = ann.http.post(ui_stack.url("/api/canned-replies"), timeout=10, json={
        "name": "Greeting", "body": "Hi {{customer_name}}, this is {{agent_name}} about {{ticket_number}}.", "shared": True})
    assert made.status_code == 201, made.text
    ben_api.http.post(ui_stack.url("/api/canned-replies"), timeout=10, json={"name": "Ben's own", "body": "Cheers"})
    ann.http.post(ui_stack.url("/api/canned-replies"), timeout=10, json={"name": "Refund steps", "body": "To get a refund..."})
    ticket = ben_api.create(title="Where is my refund", customer_name='Kira <img src=x onerror="alert(1)">')
    page.locator(f'.ticket-row[data-number="{ticket["ticket_number"]}"]').click()
    reply = page.locator("#p-reply-body")
    expect(reply).to_be_enabled(timeout=5000)
    reply.fill("Thanks for writing. ")
    reply.press("End")
    reply.press("Control+/")
    expect(page.locator("#canned-picker")).to_be_visible()
    expect(page.locator(".canned-option")).to_have_count(2, timeout=5000)  # Ann's and the team's, not Ben's
    page.keyboard.type("greet")
    expect(page.locator(".canned-option")).to_have_count(1)
    page.mouse.move(0, 0)
    page.screenshot(path=SCREENSHOTS / "canned-replies.png", animations="disabled")
    page.keyboard.press("Enter")
    expect(page.locator("#canned-picker")).to_be_hidden()
    expect(reply).to_have_value(f'Thanks for writing. Hi Kira <img src=x onerror="alert(1)">, this is Ann Archer about '
                                f'{ticket["ticket_number"]}.', timeout=5000)
    expect(reply).to_be_focused()

    # "/" as the box's first character opens it too; Esc closes it and gives the box back.
    reply.fill("")
    reply.press("/")
    expect(page.locator("#canned-picker")).to_be_visible()
    expect(page.locator(".canned-option")).to_have_count(2, timeout=5000)
    page.keyboard.press("ArrowDown")
    expect(page.locator(".canned-option.active")).to_contain_text("Refund steps")
    page.keyboard.press("Escape")
    expect(page.locator("#canned-picker")).to_be_hidden()
    expect(reply).to_have_value("")

    # Saving the box's text as a canned reply: an unknown placeholder is refused with its reason.
    reply.fill("Dear {{customer}}")
    page.click("#p-canned")
    page.click("#canned-new summary")
    page.fill("#canned-name", "Typo")
    page.click("#canned-save")
    expect(page.locator("#canned-form-error")).to_contain_text("Unknown placeholder {{customer}}")
    assert alerts == []


def test_an_agent_changes_and_deletes_an_own_canned_reply_but_not_the_teams(page, ui_stack, ui_tenant, ben_api):
    ann = AgentApi(ui_stack, ui_tenant.ann)
    assert ann.http.post(ui_stack.url("/api/canned-replies"), timeout=10, json={
        "name": "Team greeting", "body": "Hello from the team", "shared": True}).status_code == 201
    assert ben_api.http.post(ui_stack.url("/api/canned-replies"), timeout=10, json={
        "name": "Ben's sign-off", "body": "Cheers, Ben"}).status_code == 201
    ticket = ben_api.create(title="Sign-off wording")
    sign_in(page, ui_stack, ui_tenant.ben)
    page.locator(f'.ticket-row[data-number="{ticket["ticket_number"]}"]').click()
    reply = page.locator("#p-reply-body")
    expect(reply).to_be_enabled(timeout=5000)
    reply.fill("Kind regards, {{agent_name}}")
    page.click("#p-canned")
    expect(page.locator(".canned-option")).to_have_count(2, timeout=5000)
    expect(page.locator(".canned-option.active")).to_contain_text("Team greeting")
    expect(page.locator("#canned-actions")).to_be_hidden()  # the team's reply is for admins to change

    page.keyboard.press("ArrowDown")
    expect(page.locator(".canned-option.active")).to_contain_text("Ben's sign-off")
    expect(page.locator("#canned-actions")).to_be_visible()
    page.click("#canned-update")
    expect(page.locator(".canned-option.active .canned-body")).to_have_text("Kind regards, {{agent_name}}", timeout=5000)
    saved = {item["name"]: item["body"] for item in ben_api.http.get(ui_stack.url("/api/canned-replies"), timeout=10).json()["items"]}
    assert saved["Ben's sign-off"] == "Kind regards, {{agent_name}}" and saved["Team greeting"] == "Hello from the team"

    page.click("#canned-delete")  # the first click asks; moving away forgets the question
    expect(page.locator("#canned-delete")).to_have_text("Delete “Ben's sign-off” for good")
    page.locator("#canned-search").press("ArrowUp")
    page.locator("#canned-search").press("ArrowDown")
    expect(page.locator("#canned-delete")).to_have_text("Delete")
    page.click("#canned-delete")
    expect(page.locator("#canned-delete")).to_have_text("Delete “Ben's sign-off” for good")
    expect(page.locator(".canned-option")).to_have_count(2)
    page.mouse.move(0, 0)
    page.screenshot(path=SCREENSHOTS / "canned-replies-edit.png", animations="disabled")
    page.click("#canned-delete")
    expect(page.locator(".canned-option")).to_have_count(1, timeout=5000)
    names = [item["name"] for item in ben_api.http.get(ui_stack.url("/api/canned-replies"), timeout=10).json()["items"]]
    assert names == ["Team greeting"]
