"""The notifier's rules without broker or database: which email an event calls for, and its content."""
import email
import email.policy
import re
import uuid

import pytest

from services.notifier import emails
from services.notifier.config import ConfigurationError, Settings
from shared.testing import ROOT, TRACKING_LINKS
from tests.fixtures.notifier import FAST_RETRIES, ticket_envelope, ticket_payload

SETTINGS = Settings(**FAST_RETRIES)


def planned(event_type, changes=None, **ticket):
    return emails.plan(ticket_envelope(event_type, ticket_payload(**ticket), changes=changes))


def rendered(plan):
    return emails.compose(plan.kind, plan.context, plan.recipient, plan.event_id, SETTINGS)


def change(old, new):
    return {"from": old, "to": new}


def test_created_event_plans_the_created_email():
    plan = planned("ticket.created", ticket_number="TKT-00042")
    assert (plan.kind, plan.ticket_number, plan.recipient) == ("created", "TKT-00042", "kira@example.com")


@pytest.mark.parametrize(
    "changes, kind",
    [
        ({"status": change("open", "in_progress")}, "updated"),
        ({"priority": change("low", "urgent")}, "updated"),
        ({"category": change("general", "billing")}, "updated"),
        ({"title": change("Old", "New")}, "updated"),
        ({"assigned_to": change(None, "admin@example.com")}, None),  # internal: no email
        ({"status": change("open", "open")}, None),  # set to what it was: no change
        ({"status": change("open", "resolved")}, "resolved"),
        ({"status": change("in_progress", "closed"), "priority": change("low", "high")}, "resolved"),
        ({"status": change("resolved", "closed")}, "updated"),  # already told it was resolved
        ({"status": change("resolved", "open")}, "updated"),  # reopened
        ({"resolution_notes": change(None, "draft")}, None),  # internal: no email
        ({"description": change("a", "b"), "customer_name": change("A", "B")}, None),
    ],
)
def test_update_emails_only_for_customer_visible_changes(changes, kind):
    plan = planned("ticket.updated", changes=changes)
    assert (plan.kind if plan else None) == kind


def test_deleted_event_owes_no_email():
    assert planned("ticket.deleted") is None


def test_ticket_without_customer_email_is_still_planned_with_no_recipient():
    plan = planned("ticket.created", customer_email=None)
    assert plan.kind == "created" and plan.recipient is None


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type": "ticket.created"},  # no envelope
        {**ticket_envelope("ticket.created", ticket_payload()), "event_id": "not-a-uuid"},
        ticket_envelope("ticket.created", {"ticket_number": "TKT-00001"}),  # ticket fields missing
        ticket_envelope("ticket.updated", ticket_payload(), changes=["status"]),
        "just a string",
    ],
)
def test_unreadable_events_are_malformed(payload):
    with pytest.raises(emails.MalformedEvent):
        emails.plan(payload)


def test_created_email_follows_the_product_guide():
    plan = planned(
        "ticket.created", ticket_number="TKT-00003", priority="urgent", title="Cannot log in",
        customer_name="Kira V", customer_email="kira@example.com",
    )
    mail = rendered(plan)
    assert mail.subject == "[TKT-00003] We received your request: Cannot log in"
    for text in (mail.text, mail.html):
        assert "Support Ticket Reference:" in text and "TKT-00003" in text
        assert "OPEN" in text and "URGENT" in text and "technical" in text
        assert "Cannot log in" in text and "Kira V" in text and "kira@example.com" in text
        assert "get back to you as soon as possible" in text
    assert "📋 Support Ticket Reference: TKT-00003" in mail.text
    assert "✅ Status: OPEN" in mail.text and "⚡ Priority: URGENT" in mail.text


def test_every_email_links_to_the_tracker_with_a_token_for_this_ticket_and_customer():
    plan = planned("ticket.created", ticket_number="TKT-00007", customer_email="Kira@Example.com")
    mail = rendered(plan)
    prefix = "https://desk.example.com/track-ticket/"
    token = mail.text.split(prefix, 1)[1].split()[0]
    assert TRACKING_LINKS.read_token(token) == ("TKT-00007", "kira@example.com")
    assert f'href="{prefix}{token}"' in mail.html


def test_update_email_lists_each_change_once_with_a_status_snapshot_and_no_internal_fields():
    plan = planned(
        "ticket.updated",
        changes={
            "resolution_notes": change(None, "SECRET DRAFT"),
            "priority": change("low", "high"),
            "status": change("open", "in_progress"),
            "assigned_to": change(None, "sam@desk.example"),
        },
        ticket_number="TKT-00009", status="in_progress", priority="high", assigned_to="sam@desk.example",
        resolution_notes="SECRET DRAFT", client_id="acme-internal", conversation_id="conv-123",
    )
    mail = rendered(plan)
    assert mail.subject == "[TKT-00009] Your ticket has been updated: Printer on fire"
    lines = [line.strip() for line in mail.text.splitlines() if "->" in line]
    assert lines == ["• Status: OPEN -> IN PROGRESS", "• Priority: LOW -> HIGH"]  # not the assignment
    assert "<li>Status: OPEN -&gt; IN PROGRESS</li>" in mail.html
    assert "✅ Status: IN PROGRESS" in mail.text
    for text in (mail.text, mail.html):
        assert "Assigned" not in text
        for internal in ("SECRET DRAFT", "sam@desk.example", "acme-internal", "conv-123", plan.ticket_id.hex, str(plan.ticket_id), "agent-1"):
            assert internal not in text
    assert "resolution_notes" not in str(plan.context) and "id" not in plan.context["ticket"]
    assert "assigned_to" not in str(plan.context)


def test_resolution_email_carries_notes_and_an_invitation_to_reply():
    plan = planned(
        "ticket.updated", changes={"status": change("in_progress", "resolved")},
        ticket_number="TKT-00011", status="resolved", resolution_notes="Replaced the toner.\nAll good.",
    )
    mail = rendered(plan)
    assert mail.subject == "[TKT-00011] Your ticket has been resolved: Printer on fire"
    for text in (mail.text, mail.html):
        assert "has been resolved" in text and "Replaced the toner." in text
        assert "If the issue persists, simply reply to this email" in text
    closed = rendered(planned("ticket.updated", changes={"status": change("open", "closed")}, status="closed"))
    assert "has been closed" in closed.subject and "Resolution notes" not in closed.text


def test_html_part_escapes_what_the_ticket_says_and_the_text_part_keeps_it():
    title = '<script>alert("x")</script> & <b>bold</b>'
    mail = rendered(planned("ticket.created", title=title, customer_name="<img src=x onerror=alert(1)>"))
    assert "<script>" not in mail.html and "<img" not in mail.html and "<b>bold" not in mail.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in mail.html
    assert title in mail.text


def test_subject_is_one_bounded_line():
    mail = rendered(planned("ticket.created", title="Line one\r\nBcc: victim@example.com " + "x" * 300))
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert mail.subject.startswith("[TKT-00001] We received your request: Line one Bcc:")
    assert len(mail.subject) < 170


def test_mime_message_has_sender_name_text_then_html_and_a_stable_message_id():
    plan = planned("ticket.created", customer_name="Zoë Ñandú")
    mime = emails.to_mime(rendered(plan))
    parsed = email.message_from_bytes(mime.as_bytes(), policy=email.policy.default)
    assert parsed["From"] == "Deskline Support <support@deskline.test>"
    assert parsed["To"].addresses[0].display_name == "Zoë Ñandú"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Message-ID"] == f"<{plan.event_id}.created@deskline.test>" == rendered(plan).message_id
    assert "Zoë Ñandú" in parsed.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "address, expected",
    [
        ("kira@Example.COM", "kira@example.com"),
        (" kira@example.com ", "kira@example.com"),
        ("not-an-address", None),
        ("kira@localhost", None),
        ("a@b@example.com", None),
        ("Kira <kira@example.com>", None),
        ("kira @example.com", None),
        ("", None),
        (None, None),
    ],
)
def test_addresses_are_checked_before_anything_is_sent(address, expected):
    assert emails.normalize_address(address) == expected


def test_display_values():
    assert emails.display_value("status", "in_progress") == "IN PROGRESS"
    assert emails.display_value("category", "feature_request") == "feature request"
    assert emails.display_value("category", None) == "none"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"email_backend": "carrier-pigeon"}, "EMAIL_BACKEND"),
        ({"email_backend": "sendgrid"}, "SENDGRID_API_KEY"),
        ({"sender_email": "nobody"}, "SENDER_EMAIL"),
        ({"send_timeout": 60, "in_flight_lease_seconds": 100}, "LEASE"),
        ({"max_attempts": 0}, "MAX_ATTEMPTS"),
    ],
)
def test_settings_that_cannot_send_are_refused_at_start(overrides, message):
    with pytest.raises(ConfigurationError, match=message):
        Settings(**overrides).check()


def test_settings_from_environment(monkeypatch):
    from services.notifier.config import settings_from_env

    monkeypatch.setenv("EMAIL_BACKEND", "SMTP")
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("SMTP_STARTTLS", "true")
    monkeypatch.setenv("SENDER_EMAIL", "help@acme.io")
    monkeypatch.setenv("NOTIFIER_MAX_ATTEMPTS", "3")
    settings = settings_from_env()
    assert (settings.email_backend, settings.smtp_port, settings.smtp_starttls) == ("smtp", 2525, True)
    assert (settings.sender_email, settings.max_attempts) == ("help@acme.io", 3)
    monkeypatch.setenv("DESKLINE_ENV", "production")
    monkeypatch.delenv("SENDER_EMAIL")
    with pytest.raises(ConfigurationError, match="SENDER_EMAIL"):
        settings_from_env()


def test_message_ids_differ_per_event_and_kind():
    event = uuid.uuid4()
    ids = {emails.message_id_for(event, kind, "a@b.io") for kind in emails.EMAIL_KINDS}
    assert len(ids) == 3 and emails.message_id_for(uuid.uuid4(), "created", "a@b.io") not in ids


def test_the_button_has_the_products_colour_from_the_gateways_design_tokens():
    css = (ROOT / "services/tracker_gateway/static/common/base.css").read_text()
    tokens = dict(re.findall(r"--(brand-[ab]):\s*(#[0-9a-fA-F]{6})", css))
    assert (emails.BRAND_COLOR, emails.BRAND_COLOR_END) == (tokens["brand-a"], tokens["brand-b"])
    html = rendered(planned("ticket.created")).html
    button = re.search(r'<a href="[^"]*track-ticket/[^"]*" style="([^"]*)"', html).group(1)
    assert f"background-color:{tokens['brand-a']}" in button and "#2563eb" not in html


@pytest.mark.parametrize("status, verb", [("resolved", "resolved"), ("closed", "closed")])
def test_a_ticket_created_already_resolved_gets_a_fitting_first_email(status, verb):
    plan = planned("ticket.created", ticket_number="TKT-00012", status=status,
                   resolution_notes="Reset the password in the chat.")
    mail = rendered(plan)
    assert mail.subject == f"[TKT-00012] Your request has been {verb}: Printer on fire"
    for text in (mail.text, mail.html):
        assert f"already been {verb}" in text and "Reset the password in the chat." in text
        assert "reply to this email" in text
        assert "get back to you" not in text and "We received" not in text
    # An open ticket's notes are an agent's draft: the first email of an open ticket leaves them out.
    assert "resolution_notes" not in planned("ticket.created", resolution_notes="draft").context


def test_times_in_emails_carry_the_time_not_only_the_date():
    created = rendered(planned("ticket.created", created_at="2026-11-30T19:49:05.123+00:00"))
    assert "🕒 Opened: 30 Nov 2026, 19:49 UTC" in created.text
    assert "30 Nov 2026, 19:49 UTC" in created.html
    updated = rendered(planned(
        "ticket.updated", changes={"priority": change("low", "high")},
        created_at="2026-11-30T19:49:05+00:00", updated_at="2026-12-01T08:05:00+01:00",
    ))
    assert "Last updated: 1 Dec 2026, 07:05 UTC" in updated.text  # shown in UTC, and said so
    assert emails.display_time(None) is None and emails.display_time("not a time") is None


def test_resolution_email_carries_one_signed_rating_link_per_choice_for_its_round():
    from shared.contracts.rating_links import VALID, RatingLinks
    plan = planned("ticket.updated", changes={"status": change("open", "resolved")}, status="resolved",
                   resolution_round=2)
    assert plan.context["rate"] == {"ticket_id": str(plan.ticket_id), "round": 2}
    context = emails.with_tracking_link(plan.context, plan.ticket_number, plan.recipient, SETTINGS)
    mail = emails.compose(plan.kind, context, plan.recipient, plan.event_id, SETTINGS)
    for choice in ("good", "okay", "bad"):
        url = context["rating_urls"][choice]
        assert url.startswith(f"{SETTINGS.public_base_url}/rate/") and url.endswith(f"?r={choice}")
        assert url in mail.text and url in mail.html
        token = url.split("/rate/")[1].split("?")[0]
        assert RatingLinks(SETTINGS.tracker_link_secret).check(token)[0:3] == (VALID, str(plan.ticket_id), 2)
    assert "How did we do?" in mail.text
    # Not for updates, nor for a ticket never resolved (older events without a round): no links.
    update = planned("ticket.updated", changes={"priority": change("low", "high")}, resolution_round=2)
    assert "rate" not in update.context
    old = planned("ticket.updated", changes={"status": change("open", "resolved")}, status="resolved")
    assert "How did we do?" not in rendered(old).text


def test_a_reply_recorded_before_files_were_named_still_renders():
    """A delivery's context is stored when it is recorded and rendered at each attempt: a reply recorded by an
    older notifier (its message without `files`) and retried after an upgrade must still go out."""
    ticket = ticket_payload(ticket_number="TKT-00021")
    message = {"id": 7, "author_type": "agent", "author_name": "Ann", "visibility": "public", "channel": "agent",
               "body": "Fixed it.", "created_at": "2026-12-01T08:00:00+00:00", "attachments": []}
    plan = emails.plan_message(ticket_envelope("ticket.message_added", ticket) | {
        "data": {"ticket": ticket, "message": message, "actor": "ann@acme.test"}})
    old_context = {**plan.context, "message": {k: v for k, v in plan.context["message"].items() if k != "files"}}
    mail = emails.compose(plan.kind, old_context, plan.recipient, plan.event_id, SETTINGS)
    assert "Fixed it." in mail.text and "Files with this reply" not in mail.text
