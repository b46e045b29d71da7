"""The ticket's conversation in the console (issue 13, the thread), in Chromium against the real stack:
replies (and reply-and-mark-pending), internal notes set apart, the history interleaved oldest first,
customer messages arriving live with an unread marker in the list, attachments downloaded, and the
New ticket dialog. Customers write through the tickets service's RPC (their own channels, e-mail and
the tracker, are other branches' work)."""
import base64
import re

import pytest
from playwright.sync_api import expect

from shared.testing import rpc_proxy
from tests.fixtures.ui import SCREENSHOTS
from tests.ui.test_ui_tickets import open_ticket, row

pytestmark = pytest.mark.browser


def customer_writes(stack, tenant, number, body, **extra):
    with rpc_proxy(stack.amqp_uri) as rpc:
        return rpc.tickets.add_message(number, {
            "body": body, "author_type": "customer", "author_name": "Kira Nakamura", "author_email": "kira@example.com",
            "channel": "email", **extra}, client_id=tenant.client_id)


def messages(page):
    return page.locator("#p-timeline li.msg")


def test_a_reply_marks_the_ticket_pending_and_joins_the_thread_after_the_history(signed_in, ben_api, ui_stack, ui_tenant):
    page = signed_in
    made = ben_api.create(title="VPN drops every hour", customer_name="Kira Nakamura")
    customer_writes(ui_stack, ui_tenant, made["ticket_number"], "It dropped again at 10:00.")
    open_ticket(page, made["ticket_number"])
    expect(messages(page)).to_have_count(1)
    page.fill("#p-reply-body", "Please update the client to 5.2 and tell us if it helps.")
    page.click("#p-reply-pending")
    expect(messages(page)).to_have_count(2)
    reply = messages(page).nth(1)
    expect(reply).to_have_class(re.compile(r"msg-agent.*msg-public"))
    expect(reply.locator(".who")).to_have_text("Ann Archer")
    expect(reply.locator(".msg-body")).to_have_text("Please update the client to 5.2 and tell us if it helps.")
    expect(page.locator("#p-chips .chip.status-pending")).to_have_text("Pending")
    expect(page.locator("#p-reply-body")).to_have_value("")
    # Oldest first, the history between: created, the customer's message, the reply, the status change.
    items = page.locator("#p-timeline > li")
    expect(items.first).to_contain_text("Ticket created")
    expect(items.filter(has_text="Status: Open → Pending")).to_have_count(1)
    texts = items.all_inner_texts()
    customer_at = next(i for i, t in enumerate(texts) if "It dropped again" in t)
    reply_at = next(i for i, t in enumerate(texts) if "update the client to 5.2" in t)
    status_at = next(i for i, t in enumerate(texts) if "Status: Open → Pending" in t)
    assert customer_at < reply_at < status_at  # the reply, then the change it made
    assert ben_api.get(f"/api/entities/ticket/{made['ticket_number']}").json()["first_response_at"]


def test_an_internal_note_is_labelled_and_set_apart(signed_in, ben_api, ui_tenant):
    page = signed_in
    made = ben_api.create(title="Refund for a duplicate charge")
    open_ticket(page, made["ticket_number"])
    page.check("#p-reply-internal")
    expect(page.locator("#p-reply-send")).to_have_text("Add internal note")
    expect(page.locator("#p-reply-pending")).to_be_hidden()  # a note sets no status
    page.fill("#p-reply-body", "Finance confirmed the double charge; refund on Friday.")
    page.keyboard.press("Control+Enter")
    note = page.locator("#p-timeline li.msg-internal")
    expect(note).to_have_count(1)
    expect(note.locator(".note-label")).to_have_text("Internal note")
    page.check("#p-reply-public")
    page.fill("#p-reply-body", "We are refunding the second charge.")
    page.click("#p-reply-send")
    public = page.locator("#p-timeline li.msg-public")
    expect(public).to_have_count(1)
    # Read both at one moment (a live reload may replace the nodes): a different background and border.
    styles = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#p-timeline li.msg')].map((item) => {
        const s = getComputedStyle(item.querySelector('.msg-card'));
        return [item.classList.contains('msg-internal') ? 'note' : 'reply', [s.backgroundColor, s.borderLeftStyle]];
    }))""")
    assert styles["note"][0] != styles["reply"][0] and styles["note"][1] == "dashed" != styles["reply"][1]
    listed = ben_api.get(f"/api/entities/ticket/{made['ticket_number']}/messages").json()["items"]
    assert [m["visibility"] for m in listed] == ["internal", "public"]
    # An empty reply is refused in place.
    page.click("#p-reply-send")
    expect(page.locator("#p-reply-error")).to_have_text("Write the reply first.")


def test_customer_messages_arrive_live_with_an_unread_marker(signed_in, ben_api, ui_stack, ui_tenant):
    page = signed_in
    open_one = ben_api.create(title="Printer on fire")
    other = ben_api.create(title="Invoice shows the wrong VAT number")
    open_ticket(page, open_one["ticket_number"])
    customer_writes(ui_stack, ui_tenant, open_one["ticket_number"], "Now there is smoke.")
    expect(messages(page).filter(has_text="Now there is smoke.")).to_have_count(1, timeout=5000)
    expect(row(page, open_one["ticket_number"]).locator(".unread-mark")).to_have_count(0)
    customer_writes(ui_stack, ui_tenant, other["ticket_number"], "The VAT id is GB123.")
    expect(row(page, other["ticket_number"]).locator(".unread-mark")).to_have_text("New message", timeout=5000)
    open_ticket(page, other["ticket_number"])
    expect(messages(page).filter(has_text="The VAT id is GB123.")).to_have_count(1)
    expect(row(page, other["ticket_number"]).locator(".unread-mark")).to_have_count(0)
    page.reload()
    expect(row(page, other["ticket_number"])).to_be_visible(timeout=5000)
    expect(page.locator(".unread-mark")).to_have_count(0)  # what was opened stays read


def test_an_attachment_downloads_from_the_thread(signed_in, ben_api, ui_stack, ui_tenant):
    page = signed_in
    made = ben_api.create(title="Export fails")
    data = b"<html><script>alert(1)</script></html>"
    customer_writes(ui_stack, ui_tenant, made["ticket_number"], "Here is the page.", attachments=[
        {"filename": "report.html", "content_type": "text/html", "data_b64": base64.b64encode(data).decode()}])
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_ticket(page, made["ticket_number"])
    link = page.locator("#p-timeline a.attachment")
    expect(link).to_have_text(re.compile(r"^report\.html \(\d+ B\)$"))
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "report.html"
    assert open(download.value.path(), "rb").read() == data
    assert dialogs == []


def test_a_reply_with_files_joins_the_thread_and_too_many_files_are_refused_before_sending(signed_in, ben_api):
    page = signed_in
    made = ben_api.create(title="Export is wrong")
    open_ticket(page, made["ticket_number"])
    page.fill("#p-reply-body", "Here is the corrected export.")
    page.set_input_files("#p-reply-files", [{"name": f"part{n}.csv", "mimeType": "text/csv", "buffer": b"a,b\n"}
                                            for n in range(11)])
    page.click("#p-reply-send")
    expect(page.locator("#p-reply-error")).to_have_text("Not sent: At most 10 files.")
    expect(messages(page)).to_have_count(0)

    page.set_input_files("#p-reply-files", [{"name": "export.csv", "mimeType": "text/csv", "buffer": b"id,total\n1,42\n"}])
    page.click("#p-reply-send")
    expect(messages(page)).to_have_count(1, timeout=5000)
    expect(messages(page).nth(0).locator("a.attachment")).to_have_text(re.compile(r"^export\.csv \(\d+ B\)$"))
    expect(page.locator("#p-reply-body")).to_have_value("")
    assert page.locator("#p-reply-files").evaluate("input => input.files.length") == 0
    with page.expect_download() as download:
        messages(page).nth(0).locator("a.attachment").click()
    assert open(download.value.path(), "rb").read() == b"id,total\n1,42\n"
    (listed,) = ben_api.get(f"/api/entities/ticket/{made['ticket_number']}/messages").json()["items"]
    assert [f["filename"] for f in listed["attachments"]] == ["export.csv"]


def test_the_whole_email_behind_a_cut_reply_is_shown_as_text_on_request(signed_in, ben_api, ui_stack, ui_tenant):
    page = signed_in
    made = ben_api.create(title="Printer offline")
    original = ('Thanks, it prints again.\n\nOn Mon, Acme Support wrote:\n> Please restart the spooler\n'
                '> <img src=x onerror="alert(1)">')
    customer_writes(ui_stack, ui_tenant, made["ticket_number"], "Thanks, it prints again.", original=original)
    customer_writes(ui_stack, ui_tenant, made["ticket_number"], "One more thing.")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_ticket(page, made["ticket_number"])
    expect(messages(page)).to_have_count(2)
    toggle = messages(page).nth(0).locator(".msg-original-toggle")
    expect(messages(page).nth(1).locator(".msg-original-toggle")).to_have_count(0)  # nothing was cut from it
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    shown = messages(page).nth(0).locator("pre.msg-original")
    expect(shown).to_have_text(original)  # as text: the markup it quotes is shown, never run
    expect(toggle).to_have_text("Hide the whole e-mail")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.mouse.move(0, 0)
    page.screenshot(path=SCREENSHOTS / "tickets-whole-email.png", animations="disabled")
    toggle.click()
    expect(shown).to_be_hidden()
    assert dialogs == []


def test_new_ticket_for_a_phone_call(signed_in, ben_api, ui_tenant):
    page = signed_in
    page.click("#new-ticket-open")
    dialog = page.locator("#new-ticket")
    expect(dialog).to_be_visible()
    page.click("#nt-submit")
    expect(page.locator("#nt-e-title")).to_have_text("Give the ticket a title.")
    expect(page.locator("#nt-e-description")).to_have_text("Describe the issue.")
    page.fill("#nt-customer_name", "Tom Okafor")
    page.fill("#nt-customer_email", "not-an-address")
    page.fill("#nt-title-input", "Phone: cannot print invoices")
    page.fill("#nt-description", "Called at 9:10; the print button does nothing in Firefox.")
    page.select_option("#nt-priority", "high")
    page.select_option("#nt-category", "billing")
    page.click("#nt-submit")
    expect(page.locator("#nt-e-customer_email")).to_have_text("This does not look like an e-mail address.")
    page.fill("#nt-customer_email", "tom@brightlabs.example")
    page.click("#nt-submit")
    expect(dialog).to_be_hidden()
    expect(page.locator("#p-title")).to_have_text("Phone: cannot print invoices")
    number = page.locator("#p-number").inner_text()
    expect(row(page, number)).to_be_visible(timeout=5000)
    ticket = ben_api.get(f"/api/entities/ticket/{number}").json()
    assert (ticket["channel"], ticket["priority"], ticket["category"], ticket["created_by"]) == (
        "agent", "high", "billing", ui_tenant.ann.email)
    assert (ticket["customer_name"], ticket["customer_email"]) == ("Tom Okafor", "tom@brightlabs.example")


def test_screenshots_of_the_thread_and_the_new_ticket_dialog(signed_in, ben_api, ui_stack, ui_tenant):
    page = signed_in
    made = ben_api.create(title="Export to CSV times out on large reports", customer_name="Kira Nakamura",
                          priority="high", category="technical",
                          description="Exporting the yearly report (about 80,000 rows) fails after 30 seconds.")
    customer_writes(ui_stack, ui_tenant, made["ticket_number"], "It also fails for the quarterly report.", attachments=[
        {"filename": "export-error.txt", "content_type": "text/plain",
         "data_b64": base64.b64encode(b"504 Gateway Timeout after 30.0 s").decode()}])
    open_ticket(page, made["ticket_number"])
    page.check("#p-reply-internal")
    page.fill("#p-reply-body", "Reproduced with 60k rows: the export runs in the request. Moving it to a job.")
    page.click("#p-reply-send")
    expect(page.locator("#p-timeline li.msg-internal")).to_have_count(1)
    page.check("#p-reply-public")
    page.fill("#p-reply-body", "Thanks Kira, we reproduced it and are moving exports to the background. "
                               "You will get an e-mail with the file.")
    page.click("#p-reply-pending")
    expect(page.locator("#p-timeline li.msg-public.msg-agent")).to_have_count(1)
    expect(row(page, made["ticket_number"]).locator(".chip.status-pending")).to_be_visible(timeout=5000)
    expect(page.locator(".toast")).to_have_count(0, timeout=5000)
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.locator("#p-timeline li.msg-customer").evaluate("(node) => node.scrollIntoView({ block: 'start' })")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "tickets-thread.png", animations="disabled")
    page.click("#new-ticket-open")
    page.fill("#nt-customer_name", "Tom Okafor")
    page.fill("#nt-title-input", "Phone: cannot print invoices")
    expect(page.locator("#new-ticket")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / "tickets-new-ticket.png", animations="disabled")
