"""The per-process memory of which sessions are active, and the request budget outside Lambda."""

from __future__ import annotations

from core.accounts import SessionCache
from core.questions import RequestBudget


def test_a_session_is_remembered_for_its_time_then_forgotten() -> None:
    now = [100.0]
    cache = SessionCache(clock=lambda: now[0])
    assert cache.get("ana", "s1", ttl_seconds=30) is None
    cache.put("ana", "s1", active=True)
    cache.put("ana", "s2", active=False)
    assert cache.get("ana", "s1", ttl_seconds=30) is True
    assert cache.get("ana", "s2", ttl_seconds=30) is False
    assert cache.get("bia", "s1", ttl_seconds=30) is None
    now[0] = 129.9
    assert cache.get("ana", "s1", ttl_seconds=30) is True
    now[0] = 130.0
    assert cache.get("ana", "s1", ttl_seconds=30) is None
    cache.put("ana", "s1", active=True)
    cache.clear()
    assert cache.get("ana", "s1", ttl_seconds=30) is None


def test_a_request_outside_lambda_has_the_budget_it_was_given() -> None:
    assert RequestBudget(1500).get_remaining_time_in_millis() == 1500


def test_the_memory_is_bounded_to_ten_thousand_sessions_and_one() -> None:
    cache = SessionCache(clock=lambda: 0.0)
    for n in range(10_001):
        cache.put("ana", f"s{n}", active=True)
    assert cache.get("ana", "s0", ttl_seconds=30) is True  # 10,001 held
    cache.put("ana", "s10001", active=True)  # one more: the memory starts again
    assert cache.get("ana", "s0", ttl_seconds=30) is None
    assert cache.get("ana", "s10000", ttl_seconds=30) is None
    assert cache.get("ana", "s10001", ttl_seconds=30) is True
