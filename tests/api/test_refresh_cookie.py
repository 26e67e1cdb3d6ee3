"""Browsers keep the refresh token in an HttpOnly cookie; other clients in the body, as before."""

from __future__ import annotations

from collections.abc import Iterator
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import PASSWORD, Api

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


@pytest.fixture
def browser(api: Api) -> Iterator[TestClient]:
    """A client over HTTPS with a cookie jar, as a browser is (Secure cookies need HTTPS)."""
    api.user("ana")
    with TestClient(create_app(), base_url="https://testserver") as client:
        yield client


def refresh_cookie_of(response: object) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])  # type: ignore[attr-defined]
    return cookie


def test_a_browser_login_sets_the_refresh_token_as_a_locked_down_cookie(
    browser: TestClient,
) -> None:
    response = browser.post(
        LOGIN, params={"refresh_cookie": "true"}, json={"username": "ana", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] is None  # not where a script can read it
    morsel = refresh_cookie_of(response)["toro_refresh"]
    assert morsel.value.count(".") == 2  # a JWT
    assert morsel["httponly"] and morsel["secure"]
    assert morsel["samesite"] == "strict"
    assert morsel["path"] == REFRESH
    assert int(morsel["max-age"]) == 30 * 86_400


def test_the_cookie_alone_refreshes_and_rotates(browser: TestClient) -> None:
    tokens = browser.post(
        LOGIN, params={"refresh_cookie": "true"}, json={"username": "ana", "password": PASSWORD}
    ).json()
    first = browser.cookies["toro_refresh"]
    renewed = browser.post(REFRESH)  # no body: the cookie
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] is None
    assert renewed.json()["session_id"] == tokens["session_id"]
    assert browser.cookies["toro_refresh"] != first
    assert browser.post(REFRESH).status_code == 200  # and again, with the new cookie


def test_logout_clears_the_cookie(browser: TestClient) -> None:
    tokens = browser.post(
        LOGIN, params={"refresh_cookie": "true"}, json={"username": "ana", "password": PASSWORD}
    ).json()
    ended = browser.post(LOGOUT, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert ended.status_code == 204
    cleared = refresh_cookie_of(ended)["toro_refresh"]
    assert cleared.value == "" and cleared["max-age"] == "0" and cleared["path"] == REFRESH
    assert "toro_refresh" not in browser.cookies
    assert browser.post(REFRESH).status_code == 401


def test_other_clients_keep_the_body_and_get_no_cookie(api: Api) -> None:
    api.user("bia")
    response = api.client.post(LOGIN, json={"username": "bia", "password": PASSWORD})
    assert response.json()["refresh_token"]
    assert "set-cookie" not in response.headers
    renewed = api.client.post(REFRESH, json={"refresh_token": response.json()["refresh_token"]})
    assert renewed.status_code == 200 and renewed.json()["refresh_token"]
    assert "set-cookie" not in renewed.headers


def test_a_refresh_with_neither_body_nor_cookie_is_401(api: Api) -> None:
    response = api.client.post(REFRESH)
    assert response.status_code == 401
    assert "refresh token is required" in response.json()["error"]["message"]


def test_plain_http_development_can_drop_secure(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import reset

    monkeypatch.setenv("REFRESH_COOKIE_SECURE", "false")
    reset.clear_caches()
    with TestClient(create_app()) as client:
        client.post("/api/v1/auth/register", json={"username": "cris", "password": PASSWORD})
        response = client.post(
            LOGIN,
            params={"refresh_cookie": "true"},
            json={"username": "cris", "password": PASSWORD},
        )
        morsel = refresh_cookie_of(response)["toro_refresh"]
        assert not morsel["secure"] and morsel["httponly"]
        assert client.post(REFRESH).status_code == 200  # sent back over plain HTTP
