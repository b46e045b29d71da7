"""A ticket's thread through the agent API (api/messages.py) against a real tickets service: listing,
replies and internal notes signed by the token's agent, attachment downloads, tenancy and validation."""
import base64

import pytest

from tests.fixtures.openapi import assert_documented

API = "/api/entities/ticket"


@pytest.fixture
def acme(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[0])


@pytest.fixture
def globex(tenants, auth_headers, tickets_service):
    return auth_headers(tenants[1])


def create(http, headers, **fields):
    body = {"title": "Printer on fire", "description": "It is on fire.", "customer_email": "kira@example.com", **fields}
    response = http.post(API, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def post(http, headers, ref, **body):
    return http.post(f"{API}/{ref}/messages", json=body, headers=headers)


def test_a_reply_is_signed_by_the_agent_and_listed_oldest_first(http, acme, tenants, gateway_app):
    ticket = create(http, acme)
    reply = post(http, acme, ticket["ticket_number"], body="We are on it", visibility="public")
    assert reply.status_code == 201
    message = reply.get_json()
    assert_documented(gateway_app.extensions["openapi"], "POST", f"{API}/{ticket['ticket_number']}/messages", reply)
    assert (message["author_type"], message["author_email"], message["author_name"]) == (
        "agent", tenants[0].email, "acme admin")
    assert (message["channel"], message["visibility"], message["body"]) == ("agent", "public", "We are on it")
    post(http, acme, ticket["id"], body="Check the fuser", visibility="internal")
    listed = http.get(f"{API}/{ticket['id']}/messages", headers=acme)
    assert listed.status_code == 200
    assert [(m["visibility"], m["body"]) for m in listed.get_json()["items"]] == [
        ("public", "We are on it"), ("internal", "Check the fuser")]
    assert http.get(f"{API}/{ticket['ticket_number']}", headers=acme).get_json()["first_response_at"] == (
        message["created_at"])


def test_reply_and_mark_pending_or_resolved(http, acme):
    ticket = create(http, acme)
    assert post(http, acme, ticket["ticket_number"], body="Waiting on you", status="pending").status_code == 201
    assert http.get(f"{API}/{ticket['ticket_number']}", headers=acme).get_json()["status"] == "pending"
    assert post(http, acme, ticket["ticket_number"], body="Fixed", status="resolved").status_code == 201
    assert http.get(f"{API}/{ticket['ticket_number']}", headers=acme).get_json()["status"] == "resolved"
    history = http.get(f"{API}/{ticket['ticket_number']}/history", headers=acme).get_json()["items"]
    assert [h["new_value"] for h in history if h["field"] == "status"] == ["pending", "resolved"]


@pytest.mark.parametrize("body, field", [
    ({"body": ""}, "body"),
    ({"body": "x" * 100_001}, "body"),
    ({"body": "x", "visibility": "secret"}, "visibility"),
    ({"body": "x", "status": "done"}, "status"),
    ({"body": "x", "visibility": "internal", "status": "resolved"}, "status"),
    ({"body": "x", "author_type": "customer"}, "author_type"),
    ({"body": "x", "channel": "email"}, "channel"),
    ({"body": "x", "attachments": [{"filename": "a.txt", "data_b64": "not base64!"}]}, "attachments.0.data_b64"),
    ({"body": "x", "attachments": [{"filename": "", "data_b64": "eA=="}]}, "attachments.0.filename"),
    ({"body": "x", "attachments": [{"filename": f"{n}.txt", "data_b64": "eA=="} for n in range(11)]}, "attachments"),
    ({"body": "x", "attachments": [{"filename": "big.bin", "data_b64": base64.b64encode(bytes(10 * 1024 * 1024 + 1)).decode()}]},
     "attachments"),
])
def test_bad_bodies_are_422_with_the_field_and_add_nothing(http, acme, body, field):
    ticket = create(http, acme)
    response = post(http, acme, ticket["ticket_number"], **body)
    assert response.status_code == 422 and field in response.get_json()["errors"], response.get_json()
    assert http.get(f"{API}/{ticket['ticket_number']}/messages", headers=acme).get_json()["items"] == []


def test_not_json_is_422(http, acme):
    ticket = create(http, acme)
    response = http.post(f"{API}/{ticket['ticket_number']}/messages", data="body=x", headers=acme,
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422


def test_one_idempotency_key_adds_one_message(http, acme):
    ticket = create(http, acme)
    headers = {**acme, "Idempotency-Key": "reply-1"}
    first = post(http, headers, ticket["ticket_number"], body="Once")
    again = post(http, headers, ticket["ticket_number"], body="Once")
    assert first.get_json() == again.get_json()
    assert len(http.get(f"{API}/{ticket['ticket_number']}/messages", headers=acme).get_json()["items"]) == 1


def test_another_clients_thread_is_404_everywhere(http, acme, globex):
    ticket = create(http, acme)
    post(http, acme, ticket["ticket_number"], body="Hello")
    for ref in (ticket["ticket_number"], ticket["id"]):
        assert http.get(f"{API}/{ref}/messages", headers=globex).status_code == 404
        assert post(http, globex, ref, body="Sneaky").status_code == 404
    assert http.get(f"{API}/TKT-09999/messages", headers=acme).status_code == 404
    assert http.get(f"{API}/{ticket['ticket_number']}/messages").status_code == 401


def test_attachments_download_only_to_the_tickets_own_client(http, acme, globex, tenants, tickets_rpc, gateway_app):
    ticket = create(http, acme)
    html = b"<script>alert(1)</script>"
    added = tickets_rpc.add_message(ticket["ticket_number"], {
        "body": "See attached", "author_type": "customer", "channel": "email", "author_email": "kira@example.com",
        "attachments": [{"filename": "page \u00e9t\u00e9.html", "content_type": "text/html",
                         "data_b64": base64.b64encode(html).decode()}]}, client_id=tenants[0].client_id)
    attachment = added["message"]["attachments"][0]
    listed = http.get(f"{API}/{ticket['ticket_number']}/messages", headers=acme).get_json()["items"]
    assert listed[0]["attachments"] == [attachment] and attachment["content_type"] == "text/html"
    url = f"{API}/{ticket['ticket_number']}/attachments/{attachment['id']}"
    response = http.get(url, headers=acme)
    assert response.status_code == 200 and response.data == html
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "filename*=UTF-8''page%20%C3%A9t%C3%A9.html" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert_documented(gateway_app.extensions["openapi"], "GET", url, response)
    assert http.get(url, headers=globex).status_code == 404
    other = create(http, acme)
    assert http.get(f"{API}/{other['ticket_number']}/attachments/{attachment['id']}", headers=acme).status_code == 404
    assert http.get(f"{API}/{ticket['ticket_number']}/attachments/not-a-uuid", headers=acme).status_code == 404
    assert http.get(url).status_code == 401


def test_the_whole_email_behind_a_cut_message_is_for_the_tickets_own_client(http, acme, globex, tenants, tickets_rpc,
                                                                           gateway_app):
    ticket = create(http, acme)
    original = "Thanks, that worked.\n\nOn Tue, Acme Support wrote:\n> Try turning it off and on again"
    added = tickets_rpc.add_message(ticket["ticket_number"], {
        "body": "Thanks, that worked.", "original": original, "author_type": "customer", "channel": "email",
        "author_email": "kira@example.com"}, client_id=tenants[0].client_id)["message"]
    reply = post(http, acme, ticket["ticket_number"], body="Glad to hear it").get_json()
    listed = http.get(f"{API}/{ticket['ticket_number']}/messages", headers=acme).get_json()["items"]
    assert [m["has_original"] for m in listed[-2:]] == [True, False]
    url = f"{API}/{ticket['ticket_number']}/messages/{added['id']}/original"
    response = http.get(url, headers=acme)
    assert response.status_code == 200 and response.get_json()["original"] == original
    assert_documented(gateway_app.extensions["openapi"], "GET", url, response)
    assert http.get(url, headers=globex).status_code == 404
    assert http.get(url).status_code == 401
    for missing in (reply["id"], 0, 2 ** 70):  # kept nothing more than its body; no such ids
        assert http.get(f"{API}/{ticket['ticket_number']}/messages/{missing}/original", headers=acme).status_code == 404
    other = create(http, acme)
    assert http.get(f"{API}/{other['ticket_number']}/messages/{added['id']}/original", headers=acme).status_code == 404


def test_an_agents_reply_carries_files_the_customer_and_the_team_download(http, acme, globex, tenants, tracker_projector):
    ticket = create(http, acme)
    data = bytes(range(256)) * 8192  # 2 MB: far above the API's usual body cap, within the files' own
    reply = post(http, acme, ticket["ticket_number"], body="The fixed export is attached.", attachments=[
        {"filename": "export.csv", "content_type": "text/csv", "data_b64": base64.b64encode(data).decode()}])
    assert reply.status_code == 201, reply.get_json()
    (attachment,) = reply.get_json()["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("export.csv", len(data))
    url = f"{API}/{ticket['ticket_number']}/attachments/{attachment['id']}"
    downloaded = http.get(url, headers=acme)
    assert downloaded.status_code == 200 and downloaded.data == data
    assert http.get(url, headers=globex).status_code == 404
    note = post(http, acme, ticket["ticket_number"], body="Log for us", visibility="internal",
                attachments=[{"filename": "debug.log", "data_b64": base64.b64encode(b"trace").decode()}])
    assert note.status_code == 201 and note.get_json()["attachments"][0]["filename"] == "debug.log"
    too_big = http.post(f"{API}/{ticket['ticket_number']}/messages", headers=acme,
                        data=b'{"body": "' + b"x" * (16 * 1024 * 1024) + b'"}', content_type="application/json")
    assert too_big.status_code == 413 and "larger than" in too_big.get_json()["message"]
