"""The sliding-window rate limit against moto: what it counts, stores and says."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from core import rate_limit
from core.errors import DependencyUnavailable, RateLimited
from core.rate_limit import ATTEMPTS, RateLimiter

REFUSAL = "Too many tries."


def _limiter(now: list[float]) -> RateLimiter:
    return RateLimiter(clock=lambda: now[0])


def _stored(subject: str, action: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName="toro-assistant", Key={"pk": {"S": subject}, "sk": {"S": f"RATE#{action}"}}
    )["Item"]
    return item


def test_count_says_how_many_are_in_the_window_and_check_counts_nothing(aws: str) -> None:
    now = [1_000.0]
    limiter = _limiter(now)
    assert limiter.check("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 0
    assert limiter.count("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 1
    now[0] += 1
    assert limiter.count("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 2
    assert limiter.check("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 2
    assert limiter.check("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 2
    now[0] += 59.5  # the first has left the window; the second has not
    assert limiter.check("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 1
    limiter.forget("S", "a")
    assert limiter.check("S", "a", limit=3, window_seconds=60, refusal=REFUSAL) == 0


def test_the_stored_window_holds_the_recent_hits_and_expires_with_the_last(aws: str) -> None:
    now = [1_000.0004]
    limiter = _limiter(now)
    limiter.count("S", "a", limit=5, window_seconds=60, refusal=REFUSAL)
    now[0] = 1_030.25
    limiter.count("S", "a", limit=5, window_seconds=60, refusal=REFUSAL)
    now[0] = 1_075.5  # the first hit is out of the window: it is not written back
    limiter.count("S", "a", limit=5, window_seconds=60, refusal=REFUSAL)
    item = _stored("S", "a")
    assert [float(hit["N"]) for hit in item["hits"]["L"]] == [1_030.25, 1_075.5]
    assert item["version"] == {"N": "3"}
    assert item["ttl"] == {"N": "1136"}  # ceil(1075.5 + 60)


def test_a_refusal_says_what_and_when_to_try_again(aws: str) -> None:
    now = [1_000.0]
    limiter = _limiter(now)
    for _ in range(2):
        limiter.count("S", "a", limit=2, window_seconds=60, refusal=REFUSAL)
        now[0] += 10
    with pytest.raises(RateLimited) as refused:
        limiter.count("S", "a", limit=2, window_seconds=60, refusal=REFUSAL)
    # The oldest of the two leaves the window at 1060; it is 1020 now.
    assert refused.value.retry_after == 40
    assert refused.value.message == "Too many tries. Try again in 40 s."
    with pytest.raises(RateLimited) as checked:  # check refuses alike, and counts nothing
        limiter.check("S", "a", limit=2, window_seconds=60, refusal=REFUSAL)
    assert checked.value.message == "Too many tries. Try again in 40 s."
    assert len(_stored("S", "a")["hits"]["L"]) == 2


def test_a_question_refusal_names_the_limit(aws: str) -> None:
    limiter = _limiter([1_000.0])
    limiter.hit("ana", "questions", limit=1, window_seconds=30)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("ana", "questions", limit=1, window_seconds=30)
    assert refused.value.message == (
        "Too many questions: at most 1 every 30 seconds. Try again in 30 s."
    )
    assert _stored("USER#ana", "questions")["hits"]["L"] == [{"N": "1000.0"}]


class _AlwaysRaced:
    """A DynamoDB client on which another writer always wins the race."""

    def __init__(self, error: str = "ConditionalCheckFailedException") -> None:
        self._client = boto3.client("dynamodb")
        self._error = error
        self.puts = 0

    def get_item(self, **kwargs: Any) -> Any:
        return self._client.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self.puts += 1
        raise ClientError({"Error": {"Code": self._error, "Message": "lost"}}, "PutItem")


def test_a_limit_always_lost_to_other_writers_gives_up_as_unavailable(
    aws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rate_limit, "BACKOFF_SECONDS", 0)
    client = _AlwaysRaced()
    with pytest.raises(DependencyUnavailable) as raised:
        RateLimiter(client=client).hit("ana", "questions", limit=10)
    assert client.puts == ATTEMPTS
    assert raised.value.message == (
        f"The rate limit for questions could not be updated after {ATTEMPTS} attempts."
    )


def test_any_other_write_error_is_not_retried(aws: str) -> None:
    client = _AlwaysRaced("ValidationException")
    with pytest.raises(Exception) as raised:
        RateLimiter(client).hit("ana", "questions", limit=10)
    assert not isinstance(raised.value, RateLimited)
    assert client.puts == 1
