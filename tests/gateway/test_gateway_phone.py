"""The customer's phone (E.164) through the ticket API: stored on create and update, cleared with null or
blank, and a wrong number is a 422 naming the field (nothing written)."""
API = "/api/entities/ticket"


def test_the_phone_through_the_api(http, tenants, auth_headers, tickets_service):
    acme = auth_headers(tenants[0])
    created = http.post(API, json={"title": "Call back", "description": "d", "customer_phone": "+14155550123"},
                        headers=acme)
    assert created.status_code == 201 and created.get_json()["customer_phone"] == "+14155550123"
    ticket = created.get_json()
    for bad in ("+1 415 555 0123", "4155550123", "+0155", "phone"):
        refused = http.post(API, json={"title": "t", "description": "d", "customer_phone": bad}, headers=acme)
        assert refused.status_code == 422 and "customer_phone" in refused.get_json()["errors"], bad
        patched = http.patch(f"{API}/{ticket['id']}", json={"customer_phone": bad}, headers=acme)
        assert patched.status_code == 422 and "customer_phone" in patched.get_json()["errors"], bad
    assert http.get(f"{API}/{ticket['id']}", headers=acme).get_json()["customer_phone"] == "+14155550123"
    changed = http.patch(f"{API}/{ticket['id']}", json={"customer_phone": "+447700900123"}, headers=acme)
    assert changed.get_json()["customer_phone"] == "+447700900123"
    assert http.patch(f"{API}/{ticket['id']}", json={"customer_phone": ""}, headers=acme).get_json()["customer_phone"] is None
    assert http.get(API, headers=acme).status_code == 200
    # Only one ticket was made: the refused creates wrote nothing.
    assert http.get(API, headers=acme).get_json()["total"] == 1
