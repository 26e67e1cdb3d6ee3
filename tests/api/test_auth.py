"""Accounts and tokens: register, login, refresh with rotation, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from core import reset
from core.accounts import SESSIONS, AccountRepository, signing_key
from tests.api.conftest import PASSWORD, Api, error_of

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PROTECTED = "/api/v1/notifications"


def test_register_stores_the_username_lower_case(api: Api) -> None:
    response = api.client.post(REGISTER, json={"username": "Ana.Silva", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "ana.silva"
    assert set(body) == {"user_id", "username", "created_at"}  # no hash, ever
    assert api.login("ANA.SILVA")["token_type"] == "bearer"


def test_a_taken_username_is_a_conflict_whatever_its_case(api: Api) -> None:
    api.user("bruno")
    response = api.client.post(REGISTER, json={"username": "BRUNO", "password": PASSWORD})
    assert response.status_code == 409
    assert error_of(response)["code"] == "username_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": PASSWORD}, "username"),
        ({"username": "a" * 33, "password": PASSWORD}, "username"),
        ({"username": "ana silva", "password": PASSWORD}, "username"),
        ({"username": "ana!", "password": PASSWORD}, "username"),
        ({"username": "carla", "password": "short"}, "password"),
        ({"username": "carla", "password": "x" * 129}, "password"),
        ({"username": "carla"}, "password"),
        ({"username": 42, "password": PASSWORD}, "username"),
        ({"username": "carla", "password": PASSWORD, "admin": True}, "admin"),
    ],
)
def test_register_refuses_bad_input_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = api.client.post(REGISTER, json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert field in [detail["field"] for detail in error["details"]]


def test_invalid_json_is_a_422_not_a_500(api: Api) -> None:
    response = api.client.post(
        REGISTER, content=b'{"username": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "body"


def test_login_returns_tokens_and_a_session(api: Api) -> None:
    api.user("dora")
    tokens = api.login("dora")
    assert set(tokens) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "session_id",
    }
    assert tokens["expires_in"] == 900
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["iss"] == "toro-assistant"
    assert claims["aud"] == "toro-assistant-api"
    assert claims["sid"] == tokens["session_id"]
    assert claims["exp"] - claims["iat"] == 900


def test_wrong_credentials_get_the_same_answer_whether_or_not_the_user_exists(api: Api) -> None:
    api.user("edu")
    wrong_password = api.client.post(LOGIN, json={"username": "edu", "password": "wrong-pass"})
    no_such_user = api.client.post(LOGIN, json={"username": "nobody", "password": "wrong-pass"})
    assert wrong_password.status_code == no_such_user.status_code == 401
    assert error_of(wrong_password) == error_of(no_such_user)


def test_refresh_rotates_and_a_reused_refresh_token_is_refused(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the grace window for two refreshes at once (tested below), reuse is a theft.
    monkeypatch.setenv("REFRESH_GRACE_SECONDS", "0")
    reset.clear_caches()
    user = api.user("fabi")
    first = user.tokens
    rotated = api.client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["session_id"] == first["session_id"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        api.client.get(
            PROTECTED, headers={"Authorization": f"Bearer {second['access_token']}"}
        ).status_code
        == 200
    )

    reused = api.client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert error_of(reused)["message"] == "The refresh token is no longer valid; log in again."
    # A reused token may be a stolen one: the whole session ends, the newest token too.
    after_theft = api.client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert after_theft.status_code == 401


def test_logout_ends_the_session_so_its_refresh_token_is_refused(api: Api) -> None:
    user = api.user("hana")
    other = api.user("hana2")
    assert api.client.post(LOGOUT, headers=user.headers).status_code == 204
    refused = api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})
    assert refused.status_code == 401
    # Another user's session is untouched.
    kept = api.client.post(REFRESH, json={"refresh_token": other.tokens["refresh_token"]})
    assert kept.status_code == 200


def test_logout_needs_an_access_token(api: Api) -> None:
    user = api.user("ivo")
    anonymous = api.client.post(LOGOUT)
    with_refresh = api.client.post(
        LOGOUT, headers={"Authorization": f"Bearer {user.tokens['refresh_token']}"}
    )
    assert anonymous.status_code == with_refresh.status_code == 401


def test_an_access_token_is_not_a_refresh_token_and_vice_versa(api: Api) -> None:
    user = api.user("gabi")
    as_refresh = api.client.post(REFRESH, json={"refresh_token": user.tokens["access_token"]})
    assert as_refresh.status_code == 401
    as_access = api.client.get(
        PROTECTED, headers={"Authorization": f"Bearer {user.tokens['refresh_token']}"}
    )
    assert as_access.status_code == 401


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _tampered(token: str, how: str) -> str:
    claims = _claims(token)
    if how == "signature":
        head, payload, signature = token.split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        return f"{head}.{payload}.{flipped}"
    if how == "payload":
        head, _, signature = token.split(".")
        return f"{head}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}"
    if how == "alg-none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if how == "other-key":
        return jwt.encode(claims, "another-key-that-is-long-enough-0123456789", algorithm="HS256")
    now = datetime.now(UTC)
    forgeries: dict[str, dict[str, Any]] = {
        "expired": {"iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
        "wrong-audience": {"aud": "someone-elses-api"},
        "wrong-issuer": {"iss": "evil"},
        "no-session": {"sid": None},
    }
    forged = {**claims, **forgeries[how]}
    forged = {k: v for k, v in forged.items() if v is not None}
    return jwt.encode(forged, signing_key(), algorithm="HS256")


@pytest.mark.parametrize(
    "how",
    [
        "signature",
        "payload",
        "alg-none",
        "other-key",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "no-session",
    ],
)
def test_a_tampered_token_is_refused(api: Api, how: str) -> None:
    user = api.user("hugo")
    assert api.client.get(PROTECTED, headers=user.headers).status_code == 200
    token = _tampered(user.tokens["access_token"], how)
    response = api.client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)["code"] == "unauthorized"
    expected = "The token has expired." if how == "expired" else "The token is not valid."
    assert error_of(response)["message"] == expected


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Token x"]
)
def test_missing_or_malformed_authorization_is_401(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = api.client.get(PROTECTED, headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("        ", "only spaces"),
        ("password", "top-10 common password"),
        ("12345678", "top-10 common password"),
        ("\x00" * 8, "control character"),
        ("aaaaaaaaaaaa", "Repeats"),
        ("carla2024", "too easy to guess"),  # the username and a year
        ("toro1234", "too easy to guess"),  # the service's name
        # Full-width letters: the same word once normalised (NFKC).
        ("\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", "top-10 common password"),
    ],
)
def test_registration_refuses_weak_passwords_and_says_why(
    api: Api, password: str, why: str
) -> None:
    response = api.client.post(REGISTER, json={"username": "carla", "password": password})
    assert response.status_code == 422
    [detail] = error_of(response)["details"]
    assert detail["field"] == "password"
    assert why in detail["reason"], detail["reason"]


@pytest.mark.parametrize("length", [72, 73, 128])
def test_a_long_passphrase_up_to_the_limit_registers_and_logs_in(api: Api, length: int) -> None:
    """The strength estimator stops at 72 characters by default; the limit here is 128."""
    passphrase = ("purple otter galaxy lantern " * 5)[:length]
    registered = api.client.post(REGISTER, json={"username": "eli", "password": passphrase})
    assert registered.status_code == 201, registered.text
    login = api.client.post(LOGIN, json={"username": "eli", "password": passphrase})
    assert login.status_code == 200


def test_a_strong_password_registers_and_old_weak_ones_still_log_in(api: Api) -> None:
    assert (
        api.client.post(
            REGISTER, json={"username": "dani", "password": "purple-otter-galaxy"}
        ).status_code
        == 201
    )
    # Login applies no strength policy: accounts made under older rules keep working.
    weak = api.client.post(LOGIN, json={"username": "dani", "password": "password"})
    assert weak.status_code == 401
    assert error_of(weak)["code"] == "unauthorized"


def test_an_access_token_stops_working_when_its_session_ends(api: Api) -> None:
    user = api.user("jota")
    assert api.client.get(PROTECTED, headers=user.headers).status_code == 200
    assert api.client.post(LOGOUT, headers=user.headers).status_code == 204
    after = api.client.get(PROTECTED, headers=user.headers)
    assert after.status_code == 401
    assert error_of(after)["message"] == "The session has ended; log in again."


def test_refresh_token_reuse_also_stops_the_sessions_access_tokens(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFRESH_GRACE_SECONDS", "0")  # reuse past the grace window
    reset.clear_caches()
    user = api.user("kaua")
    rotated = api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})
    fresh = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert api.client.get(PROTECTED, headers=fresh).status_code == 200
    api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})  # reuse
    assert api.client.get(PROTECTED, headers=fresh).status_code == 401


def test_a_token_for_a_session_that_never_existed_is_refused(api: Api) -> None:
    user = api.user("lia")
    claims = jwt.decode(user.tokens["access_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "sid": "01NOSUCHSESSION0000000000"}, signing_key(), "HS256")
    response = api.client.get(PROTECTED, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_a_session_ended_elsewhere_stops_its_tokens_within_the_stated_bound(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ended by another API instance, a session is seen as ended here within
    SESSION_CHECK_SECONDS (30 s): the longest a revoked access token can live."""
    now = [1_000.0]
    monkeypatch.setattr(SESSIONS, "clock", lambda: now[0])
    user = api.user("mika")
    assert api.client.get(PROTECTED, headers=user.headers).status_code == 200
    AccountRepository().revoke_session(user.user_id, user.session_id)  # another instance
    now[0] += 29.9
    assert api.client.get(PROTECTED, headers=user.headers).status_code == 200
    now[0] += 0.2
    assert api.client.get(PROTECTED, headers=user.headers).status_code == 401


def test_two_refreshes_with_the_same_token_at_once_both_succeed(api: Api) -> None:
    """A retried request or a second tab: the loser no longer logs the user out."""
    user = api.user("nina")
    first = api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})
    second = api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})
    assert first.status_code == second.status_code == 200
    one, two = first.json(), second.json()
    # The same new refresh token (its id), so either tab can go on refreshing.
    jti = [
        jwt.decode(body["refresh_token"], options={"verify_signature": False})["jti"]
        for body in (one, two)
    ]
    assert jti[0] == jti[1]
    for body in (one, two):
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert api.client.get(PROTECTED, headers=headers).status_code == 200
    assert api.client.post(REFRESH, json={"refresh_token": two["refresh_token"]}).status_code == 200


def test_outside_the_grace_window_the_replaced_token_ends_the_session(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = api.user("otto")
    rotated = api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})
    assert rotated.status_code == 200
    monkeypatch.setenv("REFRESH_GRACE_SECONDS", "0")  # the window has passed
    reset.clear_caches()
    reused = api.client.post(REFRESH, json={"refresh_token": user.tokens["refresh_token"]})
    assert reused.status_code == 401
    newest = api.client.post(REFRESH, json={"refresh_token": rotated.json()["refresh_token"]})
    assert newest.status_code == 401
