"""The console when a service behind it is down: never a blank page, a "retrying" notice in place,
and recovery without a reload."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_list_says_retrying_while_tickets_is_down_and_recovers(signed_in, ben_api, ui_stack):
    page = signed_in
    made = ben_api.create(title="Still here after the outage")
    row = page.locator(f'.ticket-row[data-number="{made["ticket_number"]}"]')
    expect(row).to_be_visible(timeout=5000)
    ui_stack.tickets.stop()
    try:
        page.select_option("#f-priority", "medium")
        alert = page.locator("#list-alert")
        expect(alert).to_contain_text("Tickets: service unavailable, retrying in", timeout=10_000)
        expect(row).to_be_visible()  # the last list stays, dimmed

        # Even a fresh load is a page, with the notice where the list goes.
        page.reload()
        expect(page.locator("#who-name")).to_have_text("Ann Archer")
        expect(alert).to_contain_text("service unavailable, retrying", timeout=10_000)
    finally:
        ui_stack.tickets.start()
    expect(page.locator("#list-alert")).to_be_hidden(timeout=20_000)
    expect(row).to_be_visible()


def test_the_timeline_does_without_the_notifier_and_recovers(signed_in, ben_api, ui_stack):
    page = signed_in
    made = ben_api.create(title="Mail log away")
    row = page.locator(f'.ticket-row[data-number="{made["ticket_number"]}"]')
    expect(row).to_be_visible(timeout=5000)
    ui_stack.notifier.stop()
    try:
        row.click()
        expect(page.locator("#p-timeline li").filter(has_text=re.compile(r"^Ticket created"))).to_have_count(1)
        expect(page.locator("#p-emails-state")).to_contain_text("the notifier is not answering", timeout=10_000)
        expect(page.locator("#p-save")).to_be_enabled()  # the rest of the panel works
    finally:
        ui_stack.notifier.start()
    expect(page.locator("#p-emails-state")).to_be_hidden(timeout=30_000)
    expect(page.locator("#p-timeline li").filter(has_text="E-mail “Ticket created”")).to_have_count(1)


def test_the_live_pill_says_degraded_while_tickets_is_down_and_recovers(signed_in, ui_stack):
    # The stream stays connected (the broker answers), but the service whose events it carries does not.
    page = signed_in
    pill = page.locator("#live-state")
    expect(pill).to_have_attribute("data-state", "live", timeout=10_000)
    ui_stack.tickets.stop()
    try:
        expect(pill).to_have_attribute("data-state", "degraded", timeout=25_000)
        expect(pill).to_have_text("Degraded")
        expect(pill).to_have_attribute("title", re.compile("tickets service is not answering"))
    finally:
        ui_stack.tickets.start()
    expect(pill).to_have_attribute("data-state", "live", timeout=30_000)
    expect(pill).to_have_text("Live")
