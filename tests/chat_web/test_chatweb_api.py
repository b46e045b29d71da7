"""The gateway's chat API against the real chat and tickets services: a customer and an agent
talking over HTTP, the token's rules, tenancy, validation, closing, assignment, tickets from a
chat, and outages."""

from shared.testing import wait_for
from tests.fixtures.chat_web import CUSTOMER, public_api, start_chat, token_header

AGENT_API = "/api/chat/conversations"


def thread(http, headers, conversation_id, **query):
    response = http.get(f"{AGENT_API}/{conversation_id}", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_customer_and_an_agent_talk(http, acme, tenants):
    token, started = start_chat(http)
    assert len(token) >= 43  # 256 bits, URL-safe base64
    conversation = started["conversation"]
    assert "client_id" not in conversation and "token" not in conversation
    assert [m["body"] for m in started["messages"]] == ["Hello, my printer is on fire."]

    listed = http.get(AGENT_API, headers=acme).get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["id"], item["client_id"], item["agent_unread"]) == (conversation["id"], tenants[0].client_id, 1)
    assert item["last_message"]["preview"] == "Hello, my printer is on fire."

    reply = http.post(f"{AGENT_API}/{conversation['id']}/messages", json={"body": "Unplug it, please."}, headers=acme)
    assert reply.status_code == 201
    message = reply.get_json()
    assert (message["author"], message["author_name"], message["author_id"]) == ("agent", "acme admin", tenants[0].email)

    # The customer's page polls with the newest id it has: only the reply comes back.
    first_id = started["messages"][-1]["id"]
    polled = http.get(f"{public_api('acme')}/conversation", query_string={"after": first_id}, headers=token_header(token))
    assert polled.status_code == 200 and polled.headers["Cache-Control"] == "no-store"
    body = polled.get_json()
    assert [(m["author"], m["author_name"], m["body"]) for m in body["messages"]] == [
        ("agent", "acme admin", "Unplug it, please.")]
    assert "author_id" not in body["messages"][0] and body["conversation"]["customer_unread"] == 1

    answer = http.post(f"{public_api('acme')}/conversation/messages", json={"body": "Done!"}, headers=token_header(token))
    assert answer.status_code == 201 and answer.get_json()["author"] == "customer"
    assert [m["body"] for m in thread(http, acme, conversation["id"], after=message["id"])["messages"]] == ["Done!"]


def test_read_markers_move_on_both_sides(http, acme):
    token, started = start_chat(http)
    conversation_id = started["conversation"]["id"]
    newest = started["messages"][-1]["id"]
    read = http.post(f"{AGENT_API}/{conversation_id}/read", json={"up_to": newest}, headers=acme)
    assert read.status_code == 200 and read.get_json()["agent_unread"] == 0
    reply = http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "Hi"}, headers=acme).get_json()
    seen = http.post(f"{public_api('acme')}/conversation/read", json={"up_to": reply["id"]}, headers=token_header(token))
    assert seen.status_code == 200 and seen.get_json()["customer_unread"] == 0
    assert thread(http, acme, conversation_id)["conversation"]["customer_read_up_to"] == reply["id"]


def test_a_token_opens_its_conversation_only_from_the_header_and_on_its_clients_page(http, acme, globex):
    token, _ = start_chat(http)
    resume = f"{public_api('acme')}/conversation"
    assert http.get(resume, headers=token_header(token)).status_code == 200
    for headers in ({}, token_header(""), token_header(token[:-2] + "xx"), token_header("a" * 500)):
        response = http.get(resume, headers=headers)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    # Not in the URL: a token in the query string is an unknown parameter.
    assert http.get(resume, query_string={"token": token}).status_code == 422
    # Another client's page, or one that does not exist, opens nothing.
    assert http.get(f"{public_api('globex')}/conversation", headers=token_header(token)).status_code == 404
    assert http.post(f"{public_api('globex')}/conversation/messages", json={"body": "x"},
                     headers=token_header(token)).status_code == 404
    assert http.get(f"{public_api('nope')}/conversation", headers=token_header(token)).status_code == 404
    assert http.post(f"{public_api('nope')}/conversations", json={**CUSTOMER, "message": "hi"}).status_code == 404


def test_start_and_post_are_validated_field_by_field(http, acme, tenants):
    start = f"{public_api('acme')}/conversations"
    missing = http.post(start, json={})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"customer_name", "customer_email"}
    # The page's slug decides the client: the body cannot.
    chosen = http.post(start, json={**CUSTOMER, "client_id": tenants[1].client_id})
    assert chosen.status_code == 422 and chosen.get_json()["errors"] == {"client_id": ["Unknown field."]}
    bad_email = http.post(start, json={**CUSTOMER, "customer_email": "not an address"})
    assert bad_email.status_code == 422 and "customer_email" in bad_email.get_json()["errors"]
    assert http.post(start, data="not json", content_type="application/json").status_code == 422

    token, _ = start_chat(http)
    post = f"{public_api('acme')}/conversation/messages"
    for body in ("", "   ", "x" * 5001):
        response = http.post(post, json={"body": body}, headers=token_header(token))
        assert response.status_code == 422 and "body" in response.get_json()["errors"], body
    # Both bounds: the messages between them (the document says so; the fuzz run holds the API to it).
    between = http.get(f"{public_api('acme')}/conversation", query_string={"after": 0, "before": 2},
                       headers=token_header(token))
    assert between.status_code == 200 and [m["id"] for m in between.get_json()["messages"]] == [1]
    too_far = http.get(f"{public_api('acme')}/conversation", query_string={"after": -1, "limit": 0},
                       headers=token_header(token))
    assert too_far.status_code == 422 and set(too_far.get_json()["errors"]) == {"after", "limit"}


def test_a_conversation_without_a_first_message_starts_empty(http, acme):
    token, started = start_chat(http, message=None)
    assert started["messages"] == [] and started["conversation"]["last_message"] is None


def test_another_clients_agent_finds_nothing(http, acme, globex):
    _, started = start_chat(http)
    conversation_id = started["conversation"]["id"]
    assert http.get(AGENT_API, headers=globex).get_json()["total"] == 0
    calls = [
        ("get", f"{AGENT_API}/{conversation_id}", None),
        ("post", f"{AGENT_API}/{conversation_id}/messages", {"body": "hi"}),
        ("post", f"{AGENT_API}/{conversation_id}/read", {"up_to": 1}),
        ("post", f"{AGENT_API}/{conversation_id}/assign", {"agent": None}),
        ("post", f"{AGENT_API}/{conversation_id}/close", None),
        ("get", f"{AGENT_API}/{conversation_id}/ticket-draft", None),
        ("post", f"{AGENT_API}/{conversation_id}/ticket", {"title": "t", "description": "d"}),
    ]
    for method, path, body in calls:
        response = getattr(http, method)(path, json=body, headers=globex)
        assert response.status_code == 404, (path, response.get_json())
    assert http.get("/api/entities/ticket", headers=globex).get_json()["total"] == 0
    assert http.get("/api/entities/ticket", headers=acme).get_json()["total"] == 0
    assert http.get(f"{AGENT_API}/not-a-uuid", headers=acme).status_code == 404


def test_the_agent_api_needs_a_token(http, chat_backends, tenants):
    for path in (AGENT_API, f"{AGENT_API}/00000000-0000-0000-0000-000000000000"):
        response = http.get(path)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_closing_ends_the_conversation_for_both_sides(http, acme):
    token, started = start_chat(http)
    conversation_id = started["conversation"]["id"]
    closed = http.post(f"{AGENT_API}/{conversation_id}/close", headers=acme)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert closed.get_json()["closed_by"] is not None
    refused = http.post(f"{public_api('acme')}/conversation/messages", json={"body": "wait"}, headers=token_header(token))
    assert refused.status_code == 409 and refused.get_json()["error"] == "conflict"
    assert http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "x"}, headers=acme).status_code == 409
    resumed = http.get(f"{public_api('acme')}/conversation", headers=token_header(token)).get_json()
    assert resumed["conversation"]["status"] == "closed"
    assert resumed["messages"][-1]["author"] == "system"
    assert http.get(AGENT_API, headers=acme, query_string={"status": "open"}).get_json()["total"] == 0

    token2, _ = start_chat(http)
    by_customer = http.post(f"{public_api('acme')}/conversation/close", headers=token_header(token2))
    assert by_customer.status_code == 200 and by_customer.get_json()["status"] == "closed"


def test_assign_takes_an_agent_of_the_same_client(http, acme, tenants):
    _, started = start_chat(http)
    path = f"{AGENT_API}/{started['conversation']['id']}/assign"
    mine = http.post(path, json={"agent": tenants[0].email.upper()}, headers=acme)
    assert mine.status_code == 200 and mine.get_json()["assigned_to"] == tenants[0].email
    assert http.get(AGENT_API, headers=acme, query_string={"assigned_to": tenants[0].email}).get_json()["total"] == 1
    for agent in (tenants[1].email, "nobody@acme.example"):
        refused = http.post(path, json={"agent": agent}, headers=acme)
        assert refused.status_code == 422 and refused.get_json()["errors"] == {"agent": ["No such agent in this client."]}
    unassigned = http.post(path, json={"agent": None}, headers=acme)
    assert unassigned.status_code == 200 and unassigned.get_json()["assigned_to"] is None
    assert http.get(AGENT_API, headers=acme, query_string={"unassigned": "true"}).get_json()["total"] == 1
    assert http.post(path, json={}, headers=acme).status_code == 422


def test_a_ticket_from_a_chat_is_prefilled_created_and_linked(http, acme, tenants):
    token, started = start_chat(http)
    conversation_id = started["conversation"]["id"]
    http.post(f"{AGENT_API}/{conversation_id}/messages", json={"body": "Is it still burning?"}, headers=acme)
    draft = http.get(f"{AGENT_API}/{conversation_id}/ticket-draft", headers=acme).get_json()
    assert (draft["conversation_id"], draft["customer_name"], draft["customer_email"]) == (
        conversation_id, CUSTOMER["customer_name"], CUSTOMER["customer_email"])
    assert draft["title"] == f"Support Issue from {CUSTOMER['customer_name']}"
    assert "Kira Nakamura: Hello, my printer is on fire." in draft["description"]
    assert "Is it still burning?" in draft["description"]

    created = http.post(f"{AGENT_API}/{conversation_id}/ticket", headers=acme, json={
        "title": draft["title"], "description": draft["description"], "priority": "urgent", "category": "technical"})
    assert created.status_code == 201, created.get_json()
    ticket = created.get_json()
    assert ticket["ticket_number"] == "TKT-00001"
    assert (ticket["conversation_id"], ticket["client_id"], ticket["created_by"]) == (
        conversation_id, tenants[0].client_id, tenants[0].email)
    # The customer's details come from the conversation unless the agent corrected them.
    assert (ticket["customer_name"], ticket["customer_email"]) == (CUSTOMER["customer_name"], CUSTOMER["customer_email"])
    assert (ticket["priority"], ticket["category"]) == ("urgent", "technical")

    # The chat service links it on ticket.created: both sides see the number.
    linked = wait_for(lambda: (lambda t: t if t["conversation"]["ticket_numbers"] else None)(
        thread(http, acme, conversation_id)), timeout=10, message="the ticket link")
    assert linked["conversation"]["ticket_numbers"] == ["TKT-00001"]
    assert linked["messages"][-1]["author"] == "system" and "TKT-00001" in linked["messages"][-1]["body"]
    customer = http.get(f"{public_api('acme')}/conversation", headers=token_header(token)).get_json()
    assert customer["conversation"]["ticket_numbers"] == ["TKT-00001"]
    assert http.get("/api/entities/ticket/TKT-00001", headers=acme).get_json()["conversation_id"] == conversation_id

    corrected = http.post(f"{AGENT_API}/{conversation_id}/ticket", headers=acme, json={
        "title": "Second", "description": "d", "customer_email": "kira.n@example.com"})
    assert corrected.status_code == 201 and corrected.get_json()["customer_email"] == "kira.n@example.com"


def test_a_ticket_from_a_chat_is_validated_field_by_field(http, acme):
    _, started = start_chat(http)
    path = f"{AGENT_API}/{started['conversation']['id']}/ticket"
    response = http.post(path, headers=acme, json={"title": "", "priority": "whenever", "conversation_id": "x"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"title", "description", "priority", "conversation_id"}
    assert errors["conversation_id"] == ["Unknown field."]
    assert http.get("/api/entities/ticket", headers=acme).get_json()["total"] == 0


def test_public_calls_are_limited_per_address(make_gateway, acme):
    # A window of a few seconds: a loaded machine cannot outrun it between the starts that trip it.
    http = make_gateway(CHAT_STARTS_PER_IP=2, CHAT_START_WINDOW_SECONDS=3, CHAT_READS_PER_IP=3, TRUSTED_PROXIES=1)
    here, there = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.9"}
    start = f"{public_api('acme')}/conversations"
    body = {**CUSTOMER, "message": "hi"}
    made = [http.post(start, json=body, headers=here) for _ in range(2)]
    assert [r.status_code for r in made] == [201, 201]
    limited = http.post(start, json=body, headers=here)
    assert limited.status_code == 429 and limited.get_json()["error"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) in (1, 2, 3)
    assert http.post(start, json=body, headers=there).status_code == 201
    # The window passes, the address may start again.
    wait_for(lambda: http.post(start, json=body, headers=here).status_code == 201, timeout=10, interval=0.3,
             message="the start window to pass")

    token = made[0].get_json()["token"]
    reads = [http.get(f"{public_api('acme')}/conversation", headers={**here, **token_header(token)}).status_code
             for _ in range(4)]
    assert reads == [200, 200, 200, 429]


def test_limits_hold_across_gateway_instances(make_gateway, acme):
    one, two = (make_gateway(CHAT_POSTS_PER_IP=2) for _ in range(2))
    token, _ = start_chat(one)
    post = f"{public_api('acme')}/conversation/messages"
    statuses = [client.post(post, json={"body": "x"}, headers=token_header(token)).status_code
                for client in (one, two, one)]
    assert statuses == [201, 201, 429]


def test_a_stopped_chat_service_is_a_quick_503(http, acme, chat_service):
    token, _ = start_chat(http)
    chat_service.stop()
    response = http.get(f"{public_api('acme')}/conversation", headers=token_header(token))
    assert response.status_code == 503 and response.get_json()["error"] == "service_unavailable"
    assert "chat" in response.get_json()["message"]
    assert http.get(AGENT_API, headers=acme).status_code == 503


def test_the_chat_page_is_served_per_client(http, acme):
    page = http.get("/chat/acme")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.data.decode()
    assert "Acme" in html and 'data-slug="acme"' in html
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    # No inline script or style (the CSP would block them anyway).
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    missing = http.get("/chat/nope")
    assert missing.status_code == 404 and missing.mimetype == "text/html"


def test_the_agents_chats_page_needs_a_console_sign_in(http, gateway_db):
    response = http.get("/agent/chats")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/agent/login?next=/agent/chats")


def test_nul_bytes_and_impossible_slugs_are_refused_not_a_500(http, acme, tenants):
    for slug in ("%00", "ac%00me", "Acme", "-acme", "a" * 65):
        assert http.get(f"/chat/{slug}").status_code == 404, slug
        assert http.post(f"/api/public/chat/{slug}/conversations", json=CUSTOMER).status_code == 404, slug
        assert http.get(f"/api/public/chat/{slug}/conversation", headers=token_header("x")).status_code == 404, slug
    start = f"{public_api('acme')}/conversations"
    for field in ("customer_name", "customer_email", "message"):
        response = http.post(start, json={**CUSTOMER, field: CUSTOMER.get(field, "hello") + "\x00"})
        assert response.status_code == 422 and field in response.get_json()["errors"], field
    _, started = start_chat(http)
    path = f"{AGENT_API}/{started['conversation']['id']}/assign"
    response = http.post(path, json={"agent": tenants[0].email + "\x00"}, headers=acme)
    assert response.status_code == 422 and "agent" in response.get_json()["errors"]
