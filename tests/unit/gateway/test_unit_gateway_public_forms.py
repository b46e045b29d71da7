"""The public forms' rules without a service: file names, field errors in words, the web form's
idempotency key, file sizes in words, and what the tracker shows of a conversation (public entries
only, no addresses; the ticket still shows when the tickets service is away)."""
from nameko.exceptions import UnknownService
from werkzeug.datastructures import MultiDict

from services.tracker_gateway.public import forms, support, thread_view, tracker_thread, uploads
from services.tracker_gateway.public.forms import SUPPORT_FORM, TRACKER_REPLY
from tests.unit.gateway.test_unit_gateway_rpc import FakeBroker, pool_of

FORM_ID = "0123456789abcdef0123456789abcdef"


def test_a_file_name_keeps_neither_folders_nor_control_characters():
    assert uploads.safe_filename("C:\\Users\\kira\\report.pdf") == "report.pdf"
    assert uploads.safe_filename("../../etc/passwd") == "passwd"
    assert uploads.safe_filename("evil\r\nX-Injected: 1.txt") == "evil__X-Injected: 1.txt"
    assert uploads.safe_filename("été.pdf") == "été.pdf"
    assert uploads.safe_filename("folder/") == "attachment"
    assert len(uploads.safe_filename("a" * 300 + ".txt")) == 255


def test_field_errors_are_one_sentence_each():
    data, errors = forms.load(SUPPORT_FORM, MultiDict({"form_id": FORM_ID, "name": " ", "email": "nope",
                                                       "subject": "s" * 201, "category": "lottery"}))
    assert data is None
    assert errors == {
        "name": "Please fill this in.", "email": "Enter an e-mail address like name@example.com.",
        "subject": "Longer than maximum length 200.", "description": "Please fill this in.",
        "category": "Must be one of: general, technical, billing, account, feature_request, other."}
    _, errors = forms.load(TRACKER_REPLY, MultiDict({"body": "hi"}))
    assert errors == {"form_id": "This form has expired. Check what you wrote and send it again."}


def test_a_valid_form_loads_with_the_default_category_and_ignores_other_fields():
    data, errors = forms.load(SUPPORT_FORM, MultiDict({
        "form_id": FORM_ID, "name": " Kira ", "email": "kira@example.com", "subject": "Help",
        "description": "Details", "csrf_token": "x", "website": ""}))
    assert errors is None and data == {"form_id": FORM_ID, "name": "Kira", "email": "kira@example.com",
                                       "subject": "Help", "description": "Details", "category": "general"}


def test_one_ticket_per_form_render_and_address():
    key = support.idempotency_key(FORM_ID, "Kira@Example.com")
    assert key == support.idempotency_key(FORM_ID, " kira@example.com ") and len(key) <= 100
    assert key != support.idempotency_key(FORM_ID, "other@example.com")
    assert key != support.idempotency_key("f" * 32, "kira@example.com")


def test_file_sizes_in_words():
    assert [tracker_thread.filesize(n) for n in (0, 512, 14 * 1024, int(2.3 * 1024 * 1024))] == [
        "0 bytes", "512 bytes", "14 KB", "2.3 MB"]


MESSAGES = [
    {"id": 1, "author_type": "customer", "author_name": "Kira", "author_email": "kira@example.com",
     "visibility": "public", "channel": "web", "body": "It broke", "created_at": "2026-11-30T10:00:00+00:00",
     "attachments": [{"id": "a1", "filename": "log.txt", "content_type": "text/plain", "size": 3}],
     "email_message_id": "<m1@example.com>"},
    {"id": 2, "author_type": "agent", "author_name": "Ann", "author_email": "ann@acme.example",
     "visibility": "internal", "channel": "agent", "body": "Internal: grumpy", "created_at": "2026-11-30T10:01:00+00:00",
     "attachments": []},
    {"id": 3, "author_type": "agent", "author_name": "Ann", "author_email": "ann@acme.example",
     "visibility": "public", "channel": "agent", "body": "Fixed", "created_at": "2026-11-30T10:02:00+00:00",
     "attachments": []},
]


def test_the_conversation_shows_public_entries_only_and_no_addresses(offline_app):
    broker = FakeBroker({("tickets", "list_messages"): MESSAGES})
    offline_app.extensions["rpc_pool"] = pool_of(broker)
    with offline_app.test_request_context("/track-ticket"):
        thread = thread_view.context("TKT-00001", "kira@example.com", "acme")
    assert [m["body"] for m in thread["messages"]] == ["It broke", "Fixed"]
    assert "ann@acme.example" not in str(thread) and "kira@example.com" not in str(thread) and "<m1@" not in str(thread)
    assert thread["messages"][0]["attachments"] == [{"id": "a1", "filename": "log.txt", "size": 3}]
    assert offline_app.extensions["tracking_links"].read_link(thread["token"]) == ("TKT-00001", "kira@example.com", "acme")
    [(_, method, args, kwargs, _)] = broker.made[0].calls
    assert (method, args, kwargs) == ("list_messages", ("TKT-00001",), {"client_id": "acme", "include_internal": False})
    assert thread_view.description_repeated({"description": " It broke\n"}, thread)
    assert not thread_view.description_repeated({"description": "Printer"}, thread)


def test_the_ticket_still_shows_when_the_conversation_cannot_be_read(offline_app):
    offline_app.extensions["rpc_pool"] = pool_of(FakeBroker({("tickets", "list_messages"): UnknownService("tickets")}))
    with offline_app.test_request_context("/track-ticket"):
        thread = thread_view.context("TKT-00001", "kira@example.com", "acme")
    assert thread["messages"] == [] and thread["error"] == thread_view.UNAVAILABLE_MESSAGE
