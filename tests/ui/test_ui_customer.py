"""The customer's side in Chromium: the public web form (checked before sending, errors next to their
fields, a ticket and its e-mail), the tracker's conversation (an agent's reply shown, an internal note
never), the customer's reply with a file, and the download of an attachment; on a laptop and a phone,
with screenshots for docs/screenshots/."""
import re
import uuid

import pytest
from playwright.sync_api import expect

from shared.testing import TRACKING_LINKS, ServiceProcess, wait_for, wait_until_answers
from tests.fixtures.ui import UI_REDIS_URL
from tests.ui.test_ui_screenshots import no_sideways_scroll, shoot

pytestmark = pytest.mark.browser

CUSTOMER = "lena.fischer@northwind.example"
INTERNAL = "Internal: check their plan before answering"


@pytest.fixture(scope="module")
def tracker_projector(ui_stack, tmp_path_factory):
    """The tracker's read model updater beside the stack (the tracker shows only what it has projected)."""
    env = {"REDIS_URL": UI_REDIS_URL, "GATEWAY_REDIS_PREFIX": ui_stack.gateway_env["GATEWAY_REDIS_PREFIX"],
           "DESKLINE_ENV": "development"}
    projector = ServiceProcess("tracker_gateway.projector", env, ui_stack.amqp_uri,
                               tmp_path_factory.mktemp("projector") / "projector.log")
    projector.start(wait=False)
    wait_until_answers(ui_stack.amqp_uri, "tracker_projector")
    yield projector
    projector.stop()


@pytest.fixture
def form_page(page, ui_stack, ui_tenant):
    slug = re.search(r"@(.+)\.example$", ui_tenant.ann.email).group(1)
    page.goto(ui_stack.url(f"/support/{slug}"))
    return page


def fill_form(page, **overrides):
    values = {"Your name": "Lena Fischer", "E-mail address": CUSTOMER,
              "Subject": "Webhook deliveries delayed by several minutes",
              "How can we help?": "Since this morning our order webhooks arrive 5 to 10 minutes late.", **overrides}
    for label, value in values.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Category").select_option("technical")


def send_form(page, attachments=()):
    if attachments:
        page.get_by_label(re.compile("^Attachments")).set_input_files(
            [{"name": name, "mimeType": "text/plain", "buffer": data} for name, data in attachments])
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"TKT-\d{5}"))
    return page.locator("#ticket-number").inner_text()


def test_the_web_form_checks_its_fields_then_opens_a_ticket_and_emails_the_link(form_page, ui_stack, ben_api):
    page = form_page
    expect(page.get_by_role("heading", name="Contact Acme Support")).to_be_visible()
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Send").click()
    # Checked before sending: each error under its field, the first wrong field focused.
    expect(page.locator("#name-error")).to_have_text("Please fill this in.")
    expect(page.locator("#email-error")).to_have_text("Enter an e-mail address like name@example.com.")
    expect(page.get_by_label("Your name")).to_be_focused()
    expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    fill_form(page)
    page.get_by_label(re.compile("^Attachments")).set_input_files(
        [{"name": f"{n}.txt", "mimeType": "text/plain", "buffer": b"x"} for n in range(6)])
    expect(page.locator("#attachments-error")).to_have_text("Attach at most 5 files.")  # at once, on choosing
    # Corrected fields lose their errors as they are typed in.
    expect(page.locator("#name-error")).to_be_hidden()
    expect(page.locator("#email-error")).to_be_hidden()
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "false")
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "support-form.png")

    number = send_form(page, [("webhook-log.txt", b"12:00 delivered late\n")])
    expect(page.get_by_role("heading", name="Thank you, we have your request")).to_be_visible()
    expect(page.locator(".support-done")).to_contain_text(CUSTOMER)
    shoot(page, "support-done.png")
    ticket = ben_api.get(f"/api/entities/ticket/{number}").json()
    assert (ticket["channel"], ticket["customer_email"], ticket["category"]) == ("web", CUSTOMER, "technical")
    mail = wait_for(lambda: [m for m in ui_stack.smtp.for_ticket(number) if CUSTOMER in m.rcpt_tos], timeout=15,
                    message="the created e-mail")[0]
    assert re.search(r"/track-ticket/[A-Za-z0-9_=-]+", mail.part("plain"))


def test_the_server_says_what_the_page_could_not_check(form_page, ui_stack):
    page = form_page
    fill_form(page, **{"Subject": "x" * 200})
    page.evaluate("document.getElementById('subject').removeAttribute('maxlength')")
    page.get_by_label("Subject").fill("y" * 201)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#subject-error")).to_have_text("Longer than maximum length 200.")
    expect(page.locator("#form-alert")).to_have_text("Please correct the fields marked below.")
    expect(page.get_by_label("Your name")).to_have_value("Lena Fischer")  # what was typed stays


def test_the_web_form_and_the_conversation_on_a_phone(browser, browser_context_args, ui_stack, ui_tenant, tracker_projector):
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 390, "height": 844},
                                     "is_mobile": True, "has_touch": True, "device_scale_factor": 2})
    try:
        page = context.new_page()
        slug = re.search(r"@(.+)\.example$", ui_tenant.ann.email).group(1)
        page.goto(ui_stack.url(f"/support/{slug}"))
        fill_form(page)
        assert no_sideways_scroll(page)
        name, email = page.get_by_label("Your name").bounding_box(), page.get_by_label("E-mail address").bounding_box()
        assert email["y"] > name["y"]  # one column on a phone
        shoot(page, "support-form-phone.png")
        number = send_form(page, [("a-rather-long-file-name-from-a-phone-camera-20261130-123456.jpg", b"\xff\xd8")])
        assert no_sideways_scroll(page)
        link = ui_stack.url(f"/track-ticket/{TRACKING_LINKS.make_token(number, CUSTOMER, ui_tenant.client_id)}")
        wait_for(lambda: page.goto(link).status == 200, timeout=15, message="the tracker to have the ticket")
        expect(page.locator("#messages .msg")).to_have_count(1)
        assert no_sideways_scroll(page)
        page.locator("#conversation").scroll_into_view_if_needed()
        shoot(page, "tracker-conversation-phone.png")
    finally:
        context.close()


def test_the_keyboard_skips_the_honeypot_and_every_field_has_its_label(form_page):
    page = form_page
    page.get_by_label("E-mail address").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Subject")).to_be_focused()  # never the hidden "website" field
    expect(page.locator("#website")).not_to_be_in_viewport()
    for control in page.locator("#support-form input:not([type=hidden]), #support-form select, #support-form textarea").all():
        if control.get_attribute("id") != "website":
            assert page.locator(f'label[for="{control.get_attribute("id")}"]').count() == 1


def test_an_unknown_client_gets_a_page_saying_so(page, ui_stack):
    response = page.goto(ui_stack.url(f"/support/no-such-client-{uuid.uuid4().hex[:6]}"))
    assert response.status == 404
    expect(page.get_by_role("alert")).to_have_text("There is no support form at this address. Check the link you were given.")


def test_the_tracker_shows_the_conversation_takes_a_reply_and_downloads_a_file(
        form_page, ui_stack, ui_tenant, ben_api, tracker_projector):
    page = form_page
    fill_form(page)
    number = send_form(page, [("webhook-log.txt", b"12:00 delivered late\n")])
    ticket = ben_api.get(f"/api/entities/ticket/{number}").json()
    for body, visibility in (("Thanks Lena, we are replaying the queue now.", "public"), (INTERNAL, "internal")):
        posted = ben_api.http.post(ui_stack.url(f"/api/entities/ticket/{ticket['id']}/messages"),
                                   json={"body": body, "visibility": visibility}, timeout=10)
        assert posted.status_code == 201, posted.text
    link = ui_stack.url(f"/track-ticket/{TRACKING_LINKS.make_token(number, CUSTOMER, ui_tenant.client_id)}")
    wait_for(lambda: page.goto(link).status == 200, timeout=15, message="the tracker to have the ticket")

    thread = page.locator("#messages")
    expect(thread.locator(".msg")).to_have_count(2)
    expect(thread.locator(".msg").nth(0)).to_contain_text("You")
    expect(thread.locator(".msg").nth(1)).to_contain_text("Thanks Lena, we are replaying the queue now.")
    expect(page.locator("body")).not_to_contain_text("check their plan")

    page.get_by_label("Add a message").fill("Thank you! Deliveries look normal again.")
    page.get_by_label(re.compile("^Attachments")).set_input_files(
        [{"name": "after-fix.txt", "mimeType": "text/plain", "buffer": b"12:30 on time\n"}])
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#ticket-notice")).to_have_text("Your message has been added to the conversation.")
    expect(thread.locator(".msg")).to_have_count(3)
    expect(thread.locator(".msg").nth(2)).to_contain_text("Thank you! Deliveries look normal again.")
    expect(thread.locator(".msg").nth(2).get_by_role("link", name="after-fix.txt")).to_be_visible()
    page.locator("#conversation").scroll_into_view_if_needed()
    shoot(page, "tracker-conversation.png")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="webhook-log.txt").click()
    download = download_info.value
    assert download.suggested_filename == "webhook-log.txt"
    assert open(download.path(), "rb").read() == b"12:00 delivered late\n"

    messages = ben_api.get(f"/api/entities/ticket/{ticket['id']}/messages").json()["items"]
    assert [(m["author_type"], m["channel"]) for m in messages] == [
        ("customer", "web"), ("agent", "agent"), ("agent", "agent"), ("customer", "tracker")]


def test_the_tracker_lookup_by_number_and_email_opens_the_conversation(form_page, ui_stack, tracker_projector):
    page = form_page
    # Every test's client numbers its own tickets from TKT-00001: an address of this test's own, so the
    # lookup finds one ticket (two clients' would show the choice: test_ui_tracker_matches.py).
    customer = f"lena.{uuid.uuid4().hex[:8]}@northwind.example"
    fill_form(page, **{"E-mail address": customer})
    number = send_form(page)

    def looked_up():
        page.goto(ui_stack.url("/track-ticket"))
        page.get_by_label("Ticket number").first.fill(number)
        page.get_by_label("E-mail address").first.fill(customer.upper())
        page.get_by_role("button", name="Search ticket").click()
        return page.locator("#conversation").count() == 1

    wait_for(looked_up, timeout=15, message="the tracker to have the ticket")
    expect(page.locator("#messages .msg")).to_have_count(1)
    expect(page.get_by_label("Add a message")).to_be_visible()


def test_a_customers_web_ticket_and_tracker_reply_reach_the_agents_console_live(
        signed_in, browser, browser_context_args, ui_stack, ui_tenant, tracker_projector):
    agent = signed_in
    customer_context = browser.new_context(**browser_context_args)
    try:
        customer = customer_context.new_page()
        slug = re.search(r"@(.+)\.example$", ui_tenant.ann.email).group(1)
        customer.goto(ui_stack.url(f"/support/{slug}"))
        fill_form(customer)
        number = send_form(customer)
        row = agent.locator(f'.ticket-row[data-number="{number}"]')
        expect(row).to_be_visible(timeout=10_000)  # the new web ticket joins the agent's list live

        row.click()  # the agent has the ticket open: the customer's first message is its first entry
        thread = agent.locator("#p-timeline li.msg")
        expect(thread.filter(has_text="arrive 5 to 10 minutes late")).to_have_count(1)

        link = ui_stack.url(f"/track-ticket/{TRACKING_LINKS.make_token(number, CUSTOMER, ui_tenant.client_id)}")
        wait_for(lambda: customer.goto(link).status == 200, timeout=15, message="the tracker to have the ticket")
        customer.get_by_label("Add a message").fill("One more detail: only the EU region is late.")
        customer.get_by_role("button", name="Send message").click()
        expect(customer.locator("#ticket-notice")).to_be_visible()
        # The tracker's message reaches the open panel live (ticket.message_added on the console's stream).
        expect(thread.filter(has_text="only the EU region is late")).to_have_count(1, timeout=10_000)
    finally:
        customer_context.close()
