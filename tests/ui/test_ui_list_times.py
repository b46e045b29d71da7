"""The tickets list tells how long people have waited (relative times, the full moment on hover,
sorts by last update and oldest waiting) and, on the first run, what to do next."""
import re

import sqlalchemy as sa
from playwright.sync_api import expect

from services.tracker_gateway.accounts.models import Client

TIME_OF_DAY = r"\d{1,2}:\d{2}"


def row(page, number):
    return page.locator(f'.ticket-row[data-number="{number}"]')


def test_a_row_shows_how_long_ago_with_the_full_date_and_time_on_hover(signed_in, ben_api):
    page = signed_in
    made = ben_api.create(title="Printer jams on page two")
    created = row(page, made["ticket_number"]).locator("time.row-created")
    expect(created).to_have_text("just now", timeout=5000)
    expect(created).to_have_attribute("title", re.compile(rf"^Created .*\d{{4}}.*{TIME_OF_DAY}"))
    expect(created).to_have_attribute("datetime", made["created_at"])


def test_relative_times_carry_the_time_of_day_past_the_first_hour(signed_in):
    page = signed_in
    texts = page.evaluate("""async () => {
        const { formatRelative } = await import("/static/common/time.js");
        const now = new Date(2026, 10, 30, 15, 0);
        const at = (d, h, m, s = 0) => new Date(2026, 10, d, h, m, s).toISOString();
        return [at(30, 14, 59, 30), at(30, 14, 48), at(30, 9, 40), at(29, 16, 5), at(2, 8, 15), "", "nonsense"]
          .map((iso) => formatRelative(iso, now));
    }""")
    assert texts[:2] == ["just now", "12 min ago"]
    assert texts[2].startswith("today ") and ":40" in texts[2]
    assert texts[3].startswith("yesterday ") and ":05" in texts[3]
    assert "2026" in texts[4] and ":15" in texts[4]
    assert texts[5:] == ["", ""]


def test_sorts_by_last_update_and_by_oldest_waiting(signed_in, ben_api):
    page = signed_in
    first = ben_api.create(title="Waiting longest")
    ben_api.create(title="Waiting less")
    expect(page.locator(".ticket-row .row-title")).to_have_text(["Waiting less", "Waiting longest"], timeout=5000)
    assert page.locator("#f-sort option[value='created_at']").text_content() == "Oldest waiting"
    page.select_option("#f-sort", "created_at")
    expect(page.locator(".ticket-row .row-title")).to_have_text(["Waiting longest", "Waiting less"])
    ben_api.update(first["ticket_number"], priority="high")
    page.select_option("#f-sort", "-updated_at")
    expect(page.locator(".ticket-row .row-title")).to_have_text(["Waiting longest", "Waiting less"])
    expect(row(page, first["ticket_number"]).locator("time.row-updated")).to_have_count(0)  # updated within the minute


def test_the_first_run_says_where_tickets_come_from_and_how_to_add_agents(signed_in, ui_stack, ui_tenant):
    page = signed_in
    with ui_stack.gateway_engine.connect() as conn:
        slug = conn.scalar(sa.select(Client.slug).where(Client.id == ui_tenant.client_id))
    first_run = page.locator("#list-first-run")
    expect(first_run).to_be_visible()
    expect(page.locator("#list-empty")).to_be_hidden()
    expect(first_run.locator("#first-run-chat-link")).to_have_attribute("href", f"/chat/{slug}")
    expect(first_run.locator("#first-run-chat-link")).to_have_text(ui_stack.url(f"/chat/{slug}"))
    expect(first_run).to_contain_text("python -m services.tracker_gateway create-agent")

    # A filter that matches nothing is not a first run.
    page.select_option("#f-status", "closed")
    expect(page.locator("#list-empty")).to_be_visible()
    expect(first_run).to_be_hidden()
