"""The gateway while the broker is away: a quick 503 (never a hang, never a 500), and creating again
on its own once the broker is back, with the proxies it held replaced."""
import time

import pytest

from shared.testing import wait_for

API = "/api/entities/ticket"
BODY = {"title": "t", "description": "d", "customer_email": "c@acme.io"}


@pytest.fixture
def gateway_through_proxy(gateway_settings, proxied_amqp_uri):
    gateway_settings.update(AMQP_URI=proxied_amqp_uri)  # only the gateway goes through the proxy


def test_the_gateway_answers_503_quickly_while_the_broker_is_away_and_recovers(
        gateway_through_proxy, broker_proxy, tickets_service, http, tenants, auth_headers):
    acme = auth_headers(tenants[0])
    # Some proxies in the pool, all connected, as under load.
    assert http.post(API, json=BODY, headers={**acme, "Idempotency-Key": "k0"}).status_code == 201

    broker_proxy.cut()
    slowest = 0
    for n in range(1, 6):
        started = time.monotonic()
        response = http.post(API, json=BODY, headers={**acme, "Idempotency-Key": f"k{n}"})
        slowest = max(slowest, time.monotonic() - started)
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"] == "service_unavailable" and response.headers["Retry-After"]
    assert slowest < 2.0, slowest
    assert http.get("/readyz").status_code == 503

    broker_proxy.restore()
    back = time.monotonic()
    wait_for(lambda: http.post(API, json=BODY, headers={**acme, "Idempotency-Key": "k1"}).status_code == 201,
             timeout=10, interval=0.2, message="creates through the gateway again")
    print(f"gateway: slowest 503 {slowest:.2f}s; creating again {time.monotonic() - back:.1f}s after the broker returned")
