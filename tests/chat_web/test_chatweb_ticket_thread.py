"""A ticket made from a chat carries the transcript as its first thread entries (issue 13, the thread):
through the gateway against the real chat and tickets services."""
from tests.fixtures.chat_web import CUSTOMER, public_api, start_chat, token_header

AGENT_API = "/api/chat/conversations"


def test_the_ticket_from_a_chat_starts_with_the_whole_transcript(http, acme, tenants):
    token, started = start_chat(http)
    conversation_id = started["conversation"]["id"]
    http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "Is it still burning?"}, headers=acme)
    # More than one page of the chat's thread (200): the transcript is read to its end.
    # (the agent's side: the customer's is rate limited)
    for n in range(204):
        answer = http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": f"line {n}"}, headers=acme)
        assert answer.status_code == 201
    answer = http.post(f"{public_api('acme')}/conversation/messages", json={"body": "line 204"},
                       headers=token_header(token))
    assert answer.status_code == 201
    created = http.post(f"{AGENT_API}/{conversation_id}/ticket", headers=acme,
                        json={"title": "Printer fire", "description": "From the chat"})
    assert created.status_code == 201, created.get_json()
    ticket = created.get_json()
    assert ticket["channel"] == "chat"
    thread = http.get(f"/api/entities/ticket/{ticket['ticket_number']}/messages", headers=acme).get_json()["items"]
    assert len(thread) == 207
    assert [(m["author_type"], m["author_name"], m["author_email"], m["body"]) for m in thread[:2]] == [
        ("customer", CUSTOMER["customer_name"], CUSTOMER["customer_email"], "Hello, my printer is on fire."),
        ("agent", "acme admin", tenants[0].email, "Is it still burning?")]
    assert {(m["channel"], m["visibility"]) for m in thread} == {("chat", "public")}
    assert thread[-1]["body"] == "line 204"
    assert [m["created_at"] for m in thread] == sorted(m["created_at"] for m in thread)
    assert thread[0]["created_at"] == started["messages"][0]["created_at"]
    assert ticket["first_response_at"] is None  # the chat's answers are not the ticket's first response


def test_only_the_messages_the_agent_selected_go_to_the_ticket(http, acme):
    token, started = start_chat(http)
    conversation_id = started["conversation"]["id"]
    reply = http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "Which printer?"}, headers=acme).get_json()
    http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "Never mind, off topic"}, headers=acme)
    path = f"{AGENT_API}/{conversation_id}/ticket"
    wrong = http.post(path, headers=acme, json={"title": "t", "description": "d", "message_ids": [reply["id"], 999999]})
    assert wrong.status_code == 422 and wrong.get_json()["errors"] == {
        "message_ids": ["Not messages of this conversation: 999999."]}
    assert http.get("/api/entities/ticket", headers=acme).get_json()["total"] == 0
    first = started["messages"][0]["id"]
    created = http.post(path, headers=acme, json={"title": "t", "description": "d", "message_ids": [reply["id"], first]})
    assert created.status_code == 201, created.get_json()
    thread = http.get(f"/api/entities/ticket/{created.get_json()['ticket_number']}/messages", headers=acme).get_json()
    assert [m["body"] for m in thread["items"]] == ["Hello, my printer is on fire.", "Which printer?"]
