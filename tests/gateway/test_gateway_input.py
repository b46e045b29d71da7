"""Hostile JSON at the gateway's edge: unpaired UTF-16 surrogates and deep nesting are refused with a
clear 4xx naming the problem, never a 500, on every kind of endpoint (with and without a login)."""
import json

import pytest

SURROGATE = '"\\ud800"'  # a JSON escape that decodes to a lone surrogate, which UTF-8 cannot encode


def raw_post(http, path, body, headers=None):
    return http.post(path, data=body, content_type="application/json", headers=headers or {})


def test_lone_surrogates_are_a_field_error_in_login_refresh_and_ticket_create(http, tenants, auth_headers):
    acme, _ = tenants
    cases = [
        ("/api/auth/login", f'{{"email": {SURROGATE}, "password": "x"}}', None, "email"),
        ("/api/auth/login", f'{{"email": "{acme.email}", "password": {SURROGATE}}}', None, "password"),
        ("/api/auth/refresh", f'{{"refresh_token": {SURROGATE}}}', None, "refresh_token"),
        ("/api/entities/ticket", f'{{"title": {SURROGATE}, "description": "x"}}', auth_headers(acme), "title"),
        ("/api/entities/ticket", f'{{"title": "ok", "description": "x", {SURROGATE}: 1}}', auth_headers(acme), "_body"),
    ]
    for path, body, headers, field in cases:
        response = raw_post(http, path, body, headers)
        assert response.status_code == 422, (path, body, response.data)
        assert response.get_json()["errors"] == {field: ["Must not contain unpaired surrogate characters."]}


def test_lone_surrogates_are_refused_on_the_public_chat(http, tenants):
    acme, _ = tenants
    body = f'{{"customer_name": "Kira", "customer_email": "k@example.com", "message": {SURROGATE}}}'
    response = raw_post(http, f"/api/public/chat/{acme.slug}/conversations", body)
    assert response.status_code == 422 and "message" in response.get_json()["errors"]


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_json_is_a_400(http, tenants, auth_headers, depth):
    acme, _ = tenants
    nested = "[" * depth + "]" * depth
    for path, headers in (("/api/auth/login", None), ("/api/entities/ticket", auth_headers(acme))):
        response = raw_post(http, path, f'{{"email": {nested}}}', headers)
        assert response.status_code == 400, (path, response.status_code)
        assert "nested" in response.get_json()["message"]


def test_paired_surrogates_are_ordinary_text(http, tenants, auth_headers, tickets_service):
    acme, _ = tenants
    body = json.dumps({"title": "Emoji \U0001F600 ok", "description": "x"})  # escaped as a surrogate pair
    response = raw_post(http, "/api/entities/ticket", body, auth_headers(acme))
    assert response.status_code == 201 and response.get_json()["title"] == "Emoji \U0001F600 ok"
