"""Abuse of the public endpoints: sign-in throttling per address and username, a bound on
password hashes at once, and daily token budgets that refuse questions before the model."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core import reset
from core.accounts import HASHING, AccountService, HashGate, SignInThrottle, verify_password
from core.errors import RateLimited, ServerBusy
from core.rate_limit import RateLimiter
from core.usage import TokenBudget, TokenUsage
from tests.api.conftest import PASSWORD, Api, error_of

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
REFRESH = "/api/v1/auth/refresh"


@pytest.fixture
def production_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttles as deployed (the suites raise them for their many accounts)."""
    monkeypatch.delenv("AUTH_ATTEMPTS_PER_MINUTE")
    monkeypatch.delenv("REGISTRATIONS_PER_HOUR")
    reset.clear_caches()


def login(api: Api, username: str, password: str) -> Any:
    return api.client.post(LOGIN, json={"username": username, "password": password})


def test_thirty_wrong_passwords_lock_the_username_even_for_the_right_one(api: Api) -> None:
    api.user("ana")
    answers = [login(api, "ana", f"wrong-guess-{n}").status_code for n in range(30)]
    assert answers[:10] == [401] * 10
    assert set(answers[10:]) == {429}
    right = login(api, "ana", PASSWORD)
    assert right.status_code == 429
    assert error_of(right)["code"] == "rate_limited"
    assert "locked" in error_of(right)["message"]
    assert 1 <= int(right.headers["Retry-After"]) <= 900


def test_the_lock_is_per_username_and_unknown_usernames_lock_alike(api: Api) -> None:
    api.user("bia")
    for n in range(10):
        assert login(api, "nobody", f"guess-number-{n}").status_code == 401
    assert login(api, "nobody", "guess-number").status_code == 429  # no telling who exists
    assert login(api, "bia", PASSWORD).status_code == 200


def test_a_lock_ends_as_its_oldest_failure_leaves_the_window(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_FAILURES_BEFORE_LOCKOUT", "3")
    monkeypatch.setenv("LOGIN_LOCKOUT_SECONDS", "600")
    reset.clear_caches()
    now = [1_000_000.0]
    accounts = AccountService(throttle=SignInThrottle(RateLimiter(clock=lambda: now[0])))
    accounts.register("carla", PASSWORD)
    for step in range(3):
        now[0] += 60 * step
        with pytest.raises(Exception, match="Invalid username or password"):
            accounts.login("carla", "not-her-password")
    with pytest.raises(RateLimited) as locked:
        accounts.login("carla", PASSWORD)
    assert locked.value.retry_after == 600 - 180
    assert locked.value.message == (
        "Too many failed logins for this username; it is locked for now. Try again in 420 s."
    )
    now[0] += locked.value.retry_after
    accounts.login("carla", PASSWORD)  # the first failure left the window


def test_a_failure_recorded_at_the_limit_leaves_the_lock_as_it_is(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong passwords at the same moment can record a failure past the limit: not an error."""
    monkeypatch.setenv("LOGIN_FAILURES_BEFORE_LOCKOUT", "2")
    reset.clear_caches()
    throttle = SignInThrottle(RateLimiter(clock=lambda: 1_000_000.0))
    for _ in range(3):
        throttle.failed("carla")
    with pytest.raises(RateLimited):
        throttle.check_username("carla")


def test_a_correct_password_ends_the_run_of_failures(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_FAILURES_BEFORE_LOCKOUT", "3")
    reset.clear_caches()
    accounts = AccountService()
    accounts.register("davi", PASSWORD)
    for _ in range(2):
        with pytest.raises(Exception, match="Invalid"):
            accounts.login("davi", "not-his-password")
    accounts.login("davi", PASSWORD)
    for _ in range(2):
        with pytest.raises(Exception, match="Invalid"):
            accounts.login("davi", "not-his-password")
    accounts.login("davi", PASSWORD)  # two failures, not four


@pytest.mark.usefixtures("production_limits")
def test_sign_in_requests_are_bounded_per_client_address(api: Api) -> None:
    api.user("eva")
    # Registering and logging in were two; 27 failed logins and a refresh make 30.
    answers = [login(api, f"user{n}", "wrong-password").status_code for n in range(27)]
    assert set(answers) == {401}
    assert api.client.post(REFRESH, json={"refresh_token": "x" * 20}).status_code == 401
    limited = login(api, "eva", PASSWORD)
    assert limited.status_code == 429
    assert "address" in error_of(limited)["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api.client.post(REFRESH, json={"refresh_token": "x" * 20}).status_code == 429
    with TestClient(create_app(), client=("203.0.113.9", 50000)) as elsewhere:
        other = elsewhere.post(LOGIN, json={"username": "eva", "password": PASSWORD})
        assert other.status_code == 200  # another address has its own count


@pytest.mark.usefixtures("production_limits")
def test_new_accounts_are_bounded_per_client_address(api: Api) -> None:
    for n in range(5):
        api.user(f"farm{n}")
    refused = api.client.post(REGISTER, json={"username": "farm5", "password": PASSWORD})
    assert refused.status_code == 429
    assert "new accounts" in error_of(refused)["message"]
    assert int(refused.headers["Retry-After"]) > 60


def test_each_address_limit_says_which_it_is_and_for_how_long(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new account counts as a sign-in request too; its own window is an hour."""
    monkeypatch.setenv("AUTH_ATTEMPTS_PER_MINUTE", "2")
    monkeypatch.setenv("REGISTRATIONS_PER_HOUR", "1")
    reset.clear_caches()
    throttle = SignInThrottle(RateLimiter(clock=lambda: 1_000_000.0))
    throttle.request("203.0.113.7", "register")
    with pytest.raises(RateLimited) as accounts:
        throttle.request("203.0.113.7", "register")
    assert accounts.value.message == (
        "Too many new accounts from this address. Try again in 3600 s."
    )
    with pytest.raises(RateLimited) as requests:
        throttle.request("203.0.113.7", "login")
    assert requests.value.message == (
        "Too many sign-in requests from this address. Try again in 60 s."
    )
    throttle.request("198.51.100.4", "login")  # another address, its own counts


def test_the_sign_in_429s_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/refresh"):
        assert "429" in paths[path]["post"]["responses"], path
    assert "429" in paths["/api/v1/questions"]["post"]["responses"]


def test_one_process_computes_at_most_the_bound_of_hashes_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "2")
    reset.clear_caches()
    from core.accounts import hash_password

    stored = hash_password("a fine password")
    HASHING.peak = 0
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: verify_password("wrong", stored), range(16)))
    assert results == [False] * 16
    assert HASHING.peak == 2


def test_a_new_gate_counts_what_it_admits_and_refuses_past_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "1")
    monkeypatch.setenv("PASSWORD_HASH_WAIT_SECONDS", "0.05")
    reset.clear_caches()
    gate = HashGate()
    assert (gate.busy, gate.peak) == (0, 0)
    with gate.slot():
        assert (gate.busy, gate.peak) == (1, 1)
        with pytest.raises(ServerBusy), gate.slot():
            pass
    assert (gate.busy, gate.peak) == (0, 1)
    with gate.slot():  # the slot was given back
        assert gate.busy == 1


def test_a_login_waiting_too_long_for_a_hash_gets_503_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.user("gil")
    monkeypatch.setenv("PASSWORD_HASH_CONCURRENCY", "1")
    monkeypatch.setenv("PASSWORD_HASH_WAIT_SECONDS", "0.2")
    reset.clear_caches()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with HASHING.slot():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(10)
        busy = login(api, "gil", PASSWORD)
    finally:
        release.set()
        holder.join()
    assert busy.status_code == 503
    assert error_of(busy)["code"] == ServerBusy.code
    assert "sign-ins" in error_of(busy)["message"]
    assert busy.headers["Retry-After"] == "1"
    assert login(api, "gil", PASSWORD).status_code == 200


def test_past_the_daily_token_budget_questions_are_refused_before_the_model(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_TOKEN_BUDGET_PER_USER", "1000")
    reset.clear_caches()
    hana, ivo = api.user("hana"), api.user("ivo")
    assert api.ask(hana, "Primeira?").status_code == 202
    TokenUsage().add(hana.user_id, 1000)
    refused = api.ask(hana, "Mais uma?")
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "token_budget_exhausted"
    assert "1,000" in error_of(refused)["message"]
    now = datetime.now(UTC)
    to_midnight = 86_400 - (now.hour * 3600 + now.minute * 60 + now.second)
    assert abs(int(refused.headers["Retry-After"]) - to_midnight) <= 5
    assert api.ask(ivo, "E eu?").status_code == 202  # per account
    assert len(api.published()) == 2  # the refused one reached nothing
    listed = api.client.get("/api/v1/questions", headers=hana.headers).json()
    assert [item["question"] for item in listed["items"]] == ["Primeira?"]


def test_past_the_daily_ceiling_everyone_is_refused(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_TOKEN_CEILING", "5000")
    reset.clear_caches()
    jo, ka = api.user("joao"), api.user("kaue")
    TokenUsage().add(jo.user_id, 3000)
    assert api.ask(ka, "Ainda dá?").status_code == 202
    TokenUsage().add(ka.user_id, 2000)
    for user in (jo, ka):
        refused = api.ask(user, "E agora?")
        assert refused.status_code == 429
        assert error_of(refused)["code"] == "daily_ceiling_reached"


def test_usage_is_counted_per_utc_day(aws: str) -> None:
    usage = TokenUsage()
    day1 = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    day2 = datetime(2026, 11, 30, 0, 1, tzinfo=UTC)
    usage.add("u1", 700, now=day1)
    usage.add("u1", 300, now=day1)
    usage.add("u2", 50, now=day1)
    usage.add("u1", 10, now=day2)
    assert usage.spent("u1", now=day1) == (1000, 1050)
    assert usage.spent("u2", now=day1) == (50, 1050)
    assert usage.spent("u1", now=day2) == (10, 10)


REFUSALS = {
    "token_budget_exhausted": (
        "You have used today's budget of 1,000 model tokens; it renews at 00:00 UTC."
    ),
    "daily_ceiling_reached": (
        "The assistant has used its model budget for today; it renews at 00:00 UTC."
    ),
}


@pytest.mark.parametrize(
    ("budget", "ceiling", "user_spent", "others_spent", "refusal"),
    [
        (1000, 0, 999, 10_000, None),  # one token left; no ceiling
        (1000, 0, 1000, 0, "token_budget_exhausted"),
        (0, 5000, 4000, 999, None),  # no budget per account; one token left under the ceiling
        (0, 5000, 4000, 1000, "daily_ceiling_reached"),
        (0, 0, 10**9, 10**9, None),  # both off
    ],
)
def test_each_daily_limit_applies_on_its_own_and_zero_turns_it_off(
    aws: str,
    monkeypatch: pytest.MonkeyPatch,
    budget: int,
    ceiling: int,
    user_spent: int,
    others_spent: int,
    refusal: str | None,
) -> None:
    monkeypatch.setenv("DAILY_TOKEN_BUDGET_PER_USER", str(budget))
    monkeypatch.setenv("DAILY_TOKEN_CEILING", str(ceiling))
    reset.clear_caches()
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a day of its own, not today
    TokenUsage().add("u1", user_spent, now=now)
    TokenUsage().add("u2", others_spent, now=now)
    if refusal is None:
        TokenBudget().check("u1", now=now)
        return
    with pytest.raises(RateLimited) as raised:
        TokenBudget().check("u1", now=now)
    assert raised.value.code == refusal
    assert raised.value.message == REFUSALS[refusal]
    assert raised.value.retry_after == 12 * 3600


class _Unread(TokenUsage):
    def spent(self, user_id: str, *, now: datetime | None = None) -> tuple[int, int]:
        raise AssertionError("the counters were read")


def test_with_both_daily_limits_off_the_counters_are_not_even_read(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_TOKEN_BUDGET_PER_USER", "0")
    monkeypatch.setenv("DAILY_TOKEN_CEILING", "0")
    reset.clear_caches()
    TokenBudget(_Unread()).check("u1")


@pytest.mark.parametrize(
    ("now", "retry_after"),
    [
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), 86_400),
        (datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC), 30),
        (datetime(2026, 11, 30, 23, 59, 59, 900_000, tzinfo=UTC), 1),  # never 0
    ],
)
def test_a_spent_budget_is_retried_after_the_next_utc_midnight(
    aws: str, monkeypatch: pytest.MonkeyPatch, now: datetime, retry_after: int
) -> None:
    monkeypatch.setenv("DAILY_TOKEN_BUDGET_PER_USER", "10")
    reset.clear_caches()
    TokenUsage().add("u1", 10, now=now)
    with pytest.raises(RateLimited) as raised:
        TokenBudget().check("u1", now=now)
    assert raised.value.retry_after == retry_after
    assert raised.value.message == (
        "You have used today's budget of 10 model tokens; it renews at 00:00 UTC."
    )
