"""Access tokens: the claims issued, and every way a token is refused (401, one message for all)."""
import time
import uuid

import jwt
import pytest

from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.tokens import ALGORITHM, decode_access_token, issue_access_token
from services.tracker_gateway.config import DEV_JWT_SECRET
from services.tracker_gateway.core.errors import Unauthorized

CONFIG = {"JWT_SECRET": DEV_JWT_SECRET, "JWT_ISSUER": "deskline-gateway", "JWT_AUDIENCE": "deskline-api",
          "ACCESS_TOKEN_SECONDS": 900}
AGENT = Agent(id=uuid.uuid4(), client_id=uuid.uuid4(), role="admin", email="ann@acme.example")


def claims(**overrides):
    """The claims a login issues, changed as a test needs (None drops a claim)."""
    now = int(time.time())
    values = {"iss": CONFIG["JWT_ISSUER"], "aud": CONFIG["JWT_AUDIENCE"], "sub": str(AGENT.id),
              "cid": str(AGENT.client_id), "role": "admin", "email": AGENT.email, "iat": now, "exp": now + 900,
              "jti": uuid.uuid4().hex}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def signed(payload, secret=DEV_JWT_SECRET, algorithm=ALGORITHM):
    return jwt.encode(payload, secret, algorithm=algorithm)


def test_an_issued_token_carries_the_agent_its_client_and_a_15_minute_life():
    before = int(time.time())
    token = issue_access_token(AGENT, CONFIG)
    principal = decode_access_token(token, CONFIG)
    assert (principal.agent_id, principal.client_id, principal.role, principal.email) == (
        str(AGENT.id), str(AGENT.client_id), "admin", "ann@acme.example")
    assert before + 900 <= principal.expires <= int(time.time()) + 900
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert decode_access_token(issue_access_token(AGENT, CONFIG), CONFIG).jti != principal.jti


def test_role_and_email_are_optional_and_default_to_a_plain_agent():
    principal = decode_access_token(signed(claims(role=None, email=None)), CONFIG)
    assert (principal.role, principal.email) == ("agent", "")


def _without_signature():
    header, payload, _ = signed(claims()).split(".")
    return f"{header}.{payload}."


NOW = int(time.time())
REFUSED = {
    "expired": lambda: signed(claims(iat=NOW - 3600, exp=NOW - 60)),
    "expired_past_the_leeway": lambda: signed(claims(exp=NOW - 10)),
    "wrong_signature": lambda: signed(claims(), secret="another-secret-of-at-least-32-bytes!!"),
    "signature_removed": _without_signature,
    "alg_none": lambda: jwt.encode(claims(), None, algorithm="none"),
    "hs512": lambda: signed(claims(), algorithm="HS512"),
    "wrong_audience": lambda: signed(claims(aud="someone-else")),
    "wrong_issuer": lambda: signed(claims(iss="evil")),
    "no_exp": lambda: signed(claims(exp=None)),
    "no_iat": lambda: signed(claims(iat=None)),
    "no_jti": lambda: signed(claims(jti=None)),
    "no_sub": lambda: signed(claims(sub=None)),
    "no_iss": lambda: signed(claims(iss=None)),
    "no_aud": lambda: signed(claims(aud=None)),
    "no_client": lambda: signed(claims(cid=None)),
    "empty_client": lambda: signed(claims(cid="")),
    "client_not_a_string": lambda: signed(claims(cid=42)),
    "garbage": lambda: "not.a.token",
    "empty": lambda: "",
}


@pytest.mark.filterwarnings("ignore:The HMAC key")  # HS512 with our 53-byte key: refused either way
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_bad_tokens_are_refused_with_one_message(case):
    with pytest.raises(Unauthorized) as refused:
        decode_access_token(REFUSED[case](), CONFIG)
    assert str(refused.value) == "invalid or expired token"


def test_five_seconds_of_clock_skew_are_forgiven():
    now = int(time.time())
    assert decode_access_token(signed(claims(iat=now - 900, exp=now - 3)), CONFIG).agent_id == str(AGENT.id)


def test_a_token_of_another_deployment_is_refused():
    other = {**CONFIG, "JWT_SECRET": "the-other-deployment-secret-of-32-bytes-or-more"}
    with pytest.raises(Unauthorized):
        decode_access_token(issue_access_token(AGENT, other), CONFIG)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic YTpi", "Token abc"])
def test_a_request_without_a_bearer_token_is_401_with_a_challenge(offline_app, header):
    response = offline_app.test_client().get("/api/auth/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="deskline"'
    assert response.get_json() == {"error": "unauthorized", "message": "missing bearer token"}


def test_a_request_with_a_refused_token_is_401_before_anything_is_looked_up(offline_app):
    # The revocation check (Redis) comes after the signature: a forged token costs no round trip.
    response = offline_app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {REFUSED['alg_none']()}"})
    assert response.status_code == 401 and response.get_json()["message"] == "invalid or expired token"
