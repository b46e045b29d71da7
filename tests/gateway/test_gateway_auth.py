"""Agent authentication through the gateway: login, refresh, logout, throttling, and every way an
access token can be wrong (real PostgreSQL and Redis; no service is needed for these)."""
import time
import uuid

import jwt
import pytest

from shared.testing import wait_for

ME = "/api/auth/me"


def login(http, tenant, password=None):
    return http.post("/api/auth/login", json={"email": tenant.email, "password": password or tenant.password})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def claims_for(tenant, app, **overrides):
    now = int(time.time())
    claims = {
        "iss": app.config["JWT_ISSUER"], "aud": app.config["JWT_AUDIENCE"], "sub": tenant.agent_id,
        "cid": tenant.client_id, "role": "admin", "email": tenant.email,
        "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def test_login_returns_a_token_pair_that_authenticates(http, tenants):
    acme, _ = tenants
    response = login(http, acme)
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["refresh_token"]
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "HS256"
    me = http.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json() == {"id": acme.agent_id, "client_id": acme.client_id, "email": acme.email, "role": "admin"}


def test_login_is_case_insensitive_on_the_email(http, tenants):
    acme, _ = tenants
    response = http.post("/api/auth/login", json={"email": "  " + acme.email.upper(), "password": acme.password})
    assert response.status_code == 200


def test_wrong_password_and_unknown_email_give_the_same_401(http, tenants):
    acme, _ = tenants
    wrong = login(http, acme, password="nope")
    unknown = http.post("/api/auth/login", json={"email": "nobody@nowhere.example", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.data == unknown.data
    assert "access_token" not in wrong.get_json()


def test_login_validates_its_body(http, gateway_db):
    response = http.post("/api/auth/login", json={"email": "a@b.c"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"password": ["Missing data for required field."]}
    assert http.post("/api/auth/login", data="not json", content_type="application/json").status_code == 422


@pytest.fixture
def fast_throttle(gateway_settings):
    gateway_settings.update(LOGIN_FAILURES_PER_EMAIL=3, LOGIN_WINDOW_SECONDS=3)  # not outrun by 3 argon2 checks under load


def test_repeated_failed_logins_are_throttled_then_recover(fast_throttle, http, tenants):
    acme, _ = tenants
    for _ in range(3):
        assert login(http, acme, password="wrong").status_code == 401
    throttled = login(http, acme)  # even the right password waits
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    wait_for(lambda: login(http, acme).status_code == 200, timeout=10, message="the login window to pass")


def test_refresh_rotates_and_the_old_refresh_token_stops_working(http, tenants):
    acme, _ = tenants
    first = login(http, acme).get_json()
    second = http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    pair = second.get_json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 200
    again = http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    # Reusing a rotated token revokes its whole login: the newest refresh token is dead too.
    assert http.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401


def test_unknown_refresh_token_is_refused(http, tenants):
    assert http.post("/api/auth/refresh", json={"refresh_token": "made-up"}).status_code == 401


def test_logout_revokes_the_access_and_refresh_tokens(http, tenants):
    acme, _ = tenants
    pair = login(http, acme).get_json()
    response = http.post("/api/auth/logout", json={"refresh_token": pair["refresh_token"]},
                         headers=bearer(pair["access_token"]))
    assert response.status_code == 204
    assert http.get(ME, headers=bearer(pair["access_token"])).status_code == 401
    assert http.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert login(http, acme).status_code == 200  # a new login works


def test_no_token_is_401_with_a_bearer_challenge(http, gateway_db):
    response = http.get("/api/entities/ticket")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "unauthorized"
    assert http.get(ME, headers={"Authorization": "Basic YTpi"}).status_code == 401


@pytest.mark.filterwarnings("ignore:The HMAC key")  # HS512 with our 53-byte key: refused either way
@pytest.mark.parametrize(
    "case",
    ["expired", "wrong_signature", "alg_none", "wrong_audience", "wrong_issuer", "no_jti", "hs512", "garbage"],
)
def test_bad_access_tokens_are_401(http, tenants, gateway_app, case):
    acme, _ = tenants
    secret = gateway_app.config["JWT_SECRET"]
    now = int(time.time())
    tokens = {
        "expired": lambda: jwt.encode(claims_for(acme, gateway_app, iat=now - 3600, exp=now - 60), secret, "HS256"),
        "wrong_signature": lambda: jwt.encode(claims_for(acme, gateway_app), "another-secret-of-at-least-32-bytes!!", "HS256"),
        "alg_none": lambda: jwt.encode(claims_for(acme, gateway_app), None, algorithm="none"),
        "wrong_audience": lambda: jwt.encode(claims_for(acme, gateway_app, aud="someone-else"), secret, "HS256"),
        "wrong_issuer": lambda: jwt.encode(claims_for(acme, gateway_app, iss="evil"), secret, "HS256"),
        "no_jti": lambda: jwt.encode(claims_for(acme, gateway_app, jti=None), secret, "HS256"),
        "hs512": lambda: jwt.encode(claims_for(acme, gateway_app), secret, "HS512"),
        "garbage": lambda: "not.a.token",
    }
    good = jwt.encode(claims_for(acme, gateway_app), secret, "HS256")
    assert http.get(ME, headers=bearer(good)).status_code == 200  # the same claims, done right, pass
    response = http.get(ME, headers=bearer(tokens[case]()))
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_a_body_over_the_limit_is_413(http, gateway_db, gateway_app):
    limit = gateway_app.config["MAX_CONTENT_LENGTH"]
    response = http.post("/api/auth/login", data="x" * (limit + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert str(limit) in response.get_json()["message"]


def test_database_unreachable_is_a_503(gateway_settings, tenants):
    from services.tracker_gateway.app import close_app, create_app

    app = create_app({**gateway_settings, "DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere"})
    try:
        response = app.test_client().post("/api/auth/login", json={"email": tenants[0].email, "password": "x"})
        assert response.status_code == 503 and response.get_json()["error"] == "service_unavailable"
        assert b"127.0.0.1:1" not in response.data
    finally:
        close_app(app)


def test_a_nul_byte_in_the_login_email_is_a_422_not_a_500(http, gateway_db):
    import re

    response = http.post("/api/auth/login", json={"email": "a\x00@b.c", "password": "x"})
    assert response.status_code == 422 and "email" in response.get_json()["errors"]
    # The console's sign-in form: the same check (its CSRF token from the form page's cookie and meta tag).
    page = http.get("/agent/login").data.decode()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = http.post("/agent/login", data={"csrf_token": csrf, "email": "a\x00@b.c", "password": "x"})
    assert form.status_code == 422
