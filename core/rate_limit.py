"""Per-user rate limits kept in DynamoDB, so they hold across every API instance.

A fixed window per user and action: one counter item per window, incremented with a conditional
write that refuses to pass the limit. The item expires through the table's TTL.
"""

from __future__ import annotations

import math
import time

from botocore.exceptions import ClientError

from core.aws_errors import aws_call
from core.errors import RateLimited
from core.repository import Repository, encode, user_pk


class RateLimiter(Repository):
    @aws_call
    def hit(self, user_id: str, action: str, *, limit: int, window_seconds: int = 60) -> None:
        """Count one ``action`` for the user; RateLimited (with seconds to wait) past ``limit``."""
        now = time.time()
        window = int(now // window_seconds)
        window_end = (window + 1) * window_seconds
        try:
            self._client.update_item(
                TableName=self._table,
                Key={
                    "pk": encode(user_pk(user_id)),
                    "sk": encode(f"RATE#{action}#{window}"),
                },
                UpdateExpression="ADD hits :one SET #ttl = :ttl",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":one": encode(1),
                    ":limit": encode(limit),
                    ":ttl": encode(window_end + window_seconds),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            retry_after = max(1, math.ceil(window_end - now))
            raise RateLimited(
                f"Too many questions: at most {limit} every {window_seconds} seconds. "
                f"Try again in {retry_after} s.",
                retry_after=retry_after,
            ) from exc
