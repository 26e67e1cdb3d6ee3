"""Rate limits kept in DynamoDB, so they hold across every API instance.

A sliding window: at most ``limit`` actions in any ``window_seconds``, however they fall on the
clock (a fixed window let twice the limit through across a window's edge). One item per subject
(a user, a client address, a username) and action keeps the times of the actions still inside
the window; each hit reads it and writes it back on the condition that nobody else wrote it in
between (optimistic locking, retried a few times under contention). The item expires through
the table's TTL.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from core.aws_errors import aws_call
from core.errors import DependencyUnavailable, RateLimited
from core.repository import Repository, encode, user_pk


def _key(subject: str, action: str) -> dict[str, Any]:
    return {"pk": encode(subject), "sk": encode(f"RATE#{action}")}


# Concurrent hits of one user that lose the race try again, after a short random wait that grows
# with each try, this many times (six at once from one user settle well within it).
ATTEMPTS = 12
BACKOFF_SECONDS = 0.01


class RateLimiter(Repository):
    def __init__(
        self, *args: object, clock: Callable[[], float] = time.time, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._clock = clock

    def hit(self, user_id: str, action: str, *, limit: int, window_seconds: int = 60) -> None:
        """Count one ``action`` for the user; RateLimited (with seconds to wait) past ``limit``."""
        self.count(
            user_pk(user_id),
            action,
            limit=limit,
            window_seconds=window_seconds,
            refusal=f"Too many questions: at most {limit} every {window_seconds} seconds.",
        )

    def count(
        self, subject: str, action: str, *, limit: int, window_seconds: int, refusal: str
    ) -> int:
        """Count one ``action`` of ``subject`` (a user, a client address, a username), refusing
        it with RateLimited(``refusal`` and the wait) when ``limit`` are already in the window;
        how many are in it now."""
        return self._window(subject, action, limit, window_seconds, refusal, record=True)

    def check(
        self, subject: str, action: str, *, limit: int, window_seconds: int, refusal: str
    ) -> int:
        """How many ``action``s of ``subject`` are in the window; RateLimited at ``limit``.
        Counts nothing (for counting only failures: check before, ``count`` after one)."""
        return self._window(subject, action, limit, window_seconds, refusal, record=False)

    @aws_call
    def forget(self, subject: str, action: str) -> None:
        """Drop what was counted (a correct password ends the run of failures)."""
        self._client.delete_item(TableName=self._table, Key=_key(subject, action))

    @aws_call
    def _window(
        self,
        subject: str,
        action: str,
        limit: int,
        window_seconds: int,
        refusal: str,
        *,
        record: bool,
    ) -> int:
        key = _key(subject, action)
        attempt = 0
        while attempt < ATTEMPTS:
            now = self._clock()
            found = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True)
            item = found.get("Item", {})
            version = int(item["version"]["N"]) if "version" in item else 0
            recent = sorted(
                float(value["N"])
                for value in item.get("hits", {}).get("L", [])
                if float(value["N"]) > now - window_seconds
            )
            if len(recent) >= limit:
                retry_after = max(1, math.ceil(recent[-limit] + window_seconds - now))
                raise RateLimited(
                    f"{refusal} Try again in {retry_after} s.", retry_after=retry_after
                )
            if not record:
                return len(recent)
            hits = [*recent, now]
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **key,
                        "hits": encode([Decimal(str(round(t, 3))) for t in hits]),
                        "version": encode(version + 1),
                        "ttl": encode(math.ceil(now + window_seconds)),
                    },
                    ConditionExpression="attribute_not_exists(pk) OR version = :version",
                    ExpressionAttributeValues={":version": encode(version)},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                # Another hit of the same subject wrote first: wait a little, then read again.
                attempt += 1
                time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))  # noqa: S311 - jitter
                continue
            return len(hits)
        raise DependencyUnavailable(
            f"The rate limit for {action} could not be updated after {ATTEMPTS} attempts."
        )
