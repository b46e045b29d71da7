"""The public tracker in Chromium when one number and e-mail address belong to tickets at two clients
(each client numbers its own tickets): both shown, each with its client's name, each opening its own
ticket and conversation; a screenshot for docs/screenshots/."""
import uuid

import pytest
from playwright.sync_api import expect

from shared.testing import wait_for
from tests.fixtures.ui import AgentApi, add_ui_tenant
from tests.ui.test_ui_customer import tracker_projector  # noqa: F401  (the fixture, shared)
from tests.ui.test_ui_screenshots import no_sideways_scroll, shoot

pytestmark = pytest.mark.browser


def look_up(page, stack, number, email):
    page.goto(stack.url("/track-ticket"))
    page.get_by_label("Ticket number").first.fill(number)
    page.get_by_label("E-mail address").first.fill(email)
    page.get_by_role("button", name="Search ticket").click()


def test_the_same_number_and_address_at_two_clients_offers_both_by_client_name(
        page, ui_stack, ui_password_hash, tracker_projector):  # noqa: F811
    email = f"sam.{uuid.uuid4().hex[:8]}@example.com"
    made = {}
    for name, title in (("Northwind Books", "My order arrived damaged"), ("Contoso Travel", "Change my flight date")):
        tenant = add_ui_tenant(ui_stack.gateway_engine, ui_password_hash, name)
        made[name] = AgentApi(ui_stack, tenant.ben).create(title=title, customer_email=email, customer_name="Sam Lee")
    numbers = {ticket["ticket_number"] for ticket in made.values()}
    assert numbers == {"TKT-00001"}  # a new client's first ticket, at both

    def both_shown():
        look_up(page, ui_stack, "tkt-1", email)
        return page.locator(".match").count() == 2

    wait_for(both_shown, timeout=20, interval=0.3, message="both tickets in the tracker")
    expect(page.get_by_role("heading", name="2 tickets match")).to_be_visible()
    for name, ticket in made.items():
        choice = page.locator(".match", has_text=name)
        expect(choice).to_contain_text(ticket["title"])
        expect(choice).to_contain_text("TKT-00001")
    assert no_sideways_scroll(page)
    page.mouse.move(0, 0)
    shoot(page, "tracker-two-clients.png")

    page.locator(".match", has_text="Contoso Travel").get_by_role("link").click()
    expect(page.locator("#ticket-title")).to_have_text("Change my flight date")
    expect(page.locator(".ticket-client")).to_have_text("Contoso Travel")
    expect(page.locator("#conversation")).to_be_visible()
    expect(page.get_by_text("My order arrived damaged")).to_have_count(0)

    page.go_back()
    page.locator(".match", has_text="Northwind Books").get_by_role("link").click()
    expect(page.locator("#ticket-title")).to_have_text("My order arrived damaged")
    expect(page.locator(".ticket-client")).to_have_text("Northwind Books")

    # The other address at either client finds nothing: the pair must match.
    look_up(page, ui_stack, "TKT-00001", "someone.else@example.com")
    expect(page.get_by_role("alert")).to_contain_text("No ticket matches")
