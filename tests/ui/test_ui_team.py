"""The console's account pages in a real browser, on the whole system (gunicorn, notifier e-mailing to a
local SMTP sink): the admin's team page (invite, change a role, deactivate), accepting an invitation,
"forgot password" and the reset, and the profile. Screenshots in docs/screenshots/."""
import re

import pytest
from playwright.sync_api import expect

from shared.testing import wait_for
from tests.fixtures.ui import AgentApi, sign_in
from tests.ui.test_ui_screenshots import shoot

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


def link_mailed_to(stack, email, kind):
    """The path of the last link of this kind e-mailed to `email` (waits for the e-mail)."""
    def found():
        for message in reversed(stack.smtp.received):
            if email in message.rcpt_tos:
                match = re.search(rf"http://\S+?(/agent/{kind}/[\w-]+)", message.part("plain"))
                if match:
                    return match.group(1)
        return None
    return wait_for(found, timeout=10, message=f"the {kind} e-mail to {email}")


def row(page, email):
    return page.locator(f'#team-table tr[data-agent="{email}"]')


def test_an_admin_invites_changes_a_role_and_deactivates(signed_in, ui_stack, ui_tenant, ben_api):
    page = signed_in
    ticket = ben_api.create(title="Printer jammed", assigned_to=ui_tenant.ben.email)
    page.click('a[data-nav="team"]')
    expect(page).to_have_url(ui_stack.url("/agent/team"))
    expect(row(page, ui_tenant.ben.email).locator("[data-status]")).to_have_text("Active")

    domain = ui_tenant.ann.email.split("@")[1]
    cleo = f"cleo@{domain}"
    page.fill("#invite-email", cleo)
    page.fill("#invite-name", "Cleo Diaz")
    page.click("#invite-submit")
    expect(page.locator("#team-done")).to_have_text("Invitation sent.")
    expect(row(page, cleo).locator("[data-status]")).to_have_text("Invited")
    assert link_mailed_to(ui_stack, cleo, "invitation")

    ben = row(page, ui_tenant.ben.email)
    ben.locator("[data-role-select]").select_option("admin")
    ben.locator('button[data-action="role"]').click()
    expect(page.locator("#team-done")).to_have_text("Role changed.")
    expect(row(page, ui_tenant.ben.email).locator("[data-role-select]")).to_have_value("admin")
    page.mouse.move(0, 0)
    shoot(page, "team.png")

    row(page, ui_tenant.ben.email).locator('button[data-action="deactivate"]').click()
    expect(page.locator("#team-done")).to_contain_text("Deactivated")
    expect(row(page, ui_tenant.ben.email).locator("[data-status]")).to_have_text("Deactivated")
    # Ben's token stopped working at once.
    assert ben_api.get("/api/auth/me").status_code == 401

    # Ann cannot deactivate herself: she is the last active admin now.
    row(page, ui_tenant.ann.email).locator('button[data-action="deactivate"]').click()
    expect(page.locator("#team-error")).to_contain_text("last active admin")

    # Ben's ticket stays his, and says he is deactivated.
    page.click('a[data-nav="tickets"]')
    assignee = page.locator(f'.ticket-row[data-number="{ticket["ticket_number"]}"] .row-assignee')
    expect(assignee).to_have_text(f"{ui_tenant.ben.name} (deactivated)")


def test_an_invited_agent_accepts_and_is_signed_in(browser, browser_context_args, ui_stack, ui_tenant):
    ann = AgentApi(ui_stack, ui_tenant.ann)
    email = f"dee@{ui_tenant.ann.email.split('@')[1]}"
    invited = ann.http.post(ui_stack.url("/api/agents"), json={"email": email, "name": "Dee", "role": "agent"}, timeout=10)
    assert invited.status_code == 201, invited.text
    path = link_mailed_to(ui_stack, email, "invitation")

    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        page.goto(ui_stack.url(path))
        expect(page.locator("#accept-title")).to_have_text("Join your team on Deskline")
        page.fill("#name", "Dee Evans")
        page.fill("#password", NEW_PASSWORD)
        page.fill("#confirm-password", NEW_PASSWORD + "?")
        page.click("#accept-submit")
        expect(page.locator("#accept-error")).to_have_text("The two passwords differ.")
        page.fill("#password", NEW_PASSWORD)
        page.fill("#confirm-password", NEW_PASSWORD)
        shoot(page, "accept-invitation.png")
        page.click("#accept-submit")
        expect(page).to_have_url(ui_stack.url("/agent/tickets"))
        expect(page.locator("#who-name")).to_have_text("Dee Evans")
        expect(page.locator('a[data-nav="team"]')).to_have_count(0)  # an agent: no Team link
        # The link worked once.
        page.goto(ui_stack.url(path))
        expect(page.locator("#link-gone")).to_contain_text("expired or was already used")
    finally:
        context.close()


def test_forgot_password_then_reset_then_sign_in(browser, browser_context_args, ui_stack, ui_tenant):
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        page.goto(ui_stack.url("/agent/login"))
        page.click("#forgot-link")
        page.fill("#email", ui_tenant.ben.email)
        page.click("#forgot-submit")
        expect(page.locator("#forgot-sent")).to_contain_text("If an account uses this address")
        shoot(page, "forgot-password.png")
        path = link_mailed_to(ui_stack, ui_tenant.ben.email, "reset-password")

        page.goto(ui_stack.url(path))
        page.fill("#password", NEW_PASSWORD)
        page.fill("#confirm-password", NEW_PASSWORD)
        shoot(page, "reset-password.png")
        page.click("#reset-submit")
        expect(page.locator(".notice")).to_have_text("Your password is changed: sign in with it.")
        ui_tenant.ben.password = NEW_PASSWORD
        page.fill("#email", ui_tenant.ben.email)
        page.fill("#password", NEW_PASSWORD)
        page.click("#login-submit")
        expect(page).to_have_url(ui_stack.url("/agent/tickets"))
    finally:
        context.close()


def test_an_agent_edits_the_profile_and_changes_the_password(page, ui_stack, ui_tenant):
    sign_in(page, ui_stack, ui_tenant.ben)
    page.click("#who-name")
    expect(page).to_have_url(ui_stack.url("/agent/profile"))
    expect(page.locator("#notify-assignments")).to_be_checked()
    page.fill("#display-name", "Benji")
    page.uncheck("#notify-assignments")
    page.click("#profile-submit")
    expect(page.locator("#profile-done")).to_have_text("Profile saved.")
    expect(page.locator("#who-name")).to_have_text("Benji")
    expect(page.locator("#notify-assignments")).not_to_be_checked()

    page.fill("#current-password", "not my password")
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#password-submit")
    expect(page.locator("#password-error")).to_have_text("The current password is not right.")
    page.fill("#current-password", ui_tenant.ben.password)
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#confirm-password", NEW_PASSWORD)
    page.click("#password-submit")
    expect(page.locator("#profile-done")).to_have_text("Password changed.")
    page.mouse.move(0, 0)
    shoot(page, "profile.png")
    ui_tenant.ben.password = NEW_PASSWORD
    AgentApi(ui_stack, ui_tenant.ben)  # signs in with the new password
