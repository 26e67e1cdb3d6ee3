"""Per-user rate limits kept in DynamoDB, so they hold across every API instance.

A sliding window: at most ``limit`` actions in any ``window_seconds``, however they fall on the
clock (a fixed window let twice the limit through across a window's edge). One item per user
and action keeps the times of the accepted actions still inside the window; each hit reads it
and writes it back on the condition that nobody else wrote it in between (optimistic locking,
retried a few times under contention). The item expires through the table's TTL.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from core.aws_errors import aws_call
from core.errors import DependencyUnavailable, RateLimited
from core.repository import Repository, encode, user_pk

if TYPE_CHECKING:
    pass

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

    @aws_call
    def hit(self, user_id: str, action: str, *, limit: int, window_seconds: int = 60) -> None:
        """Count one ``action`` for the user; RateLimited (with seconds to wait) past ``limit``."""
        key = {"pk": encode(user_pk(user_id)), "sk": encode(f"RATE#{action}")}
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
                    f"Too many questions: at most {limit} every {window_seconds} seconds. "
                    f"Try again in {retry_after} s.",
                    retry_after=retry_after,
                )
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
                # Another hit of the same user wrote first: wait a little, then read again.
                attempt += 1
                time.sleep(random.uniform(0, BACKOFF_SECONDS * attempt))  # noqa: S311 - jitter
                continue
            return
        raise DependencyUnavailable(
            f"The rate limit for {action} could not be updated after {ATTEMPTS} attempts."
        )
