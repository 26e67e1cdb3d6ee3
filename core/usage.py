"""Model tokens spent per UTC day: per account and for everyone together.

Each stored answer adds its tokens (prompt and completion, as the model reported them) to two
counters: ``USER#<id>`` / ``USAGE#<day>`` and ``USAGE#<day>`` / ``TOTAL``. A question is refused
before it is stored, and so before it reaches the model, once the account's daily budget or the
global daily ceiling is used up. Questions already accepted still finish, so the counters may
pass a limit by what was in flight (at most ``openai_max_tokens`` plus the prompt per question).
The counters expire through the table's TTL two days after their day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.aws_errors import aws_call
from core.errors import RateLimited
from core.models import utc_now
from core.repository import Repository, encode, user_pk
from core.settings import get_api_settings

_KEEP_DAYS = 2


def _user_key(user_id: str, day: date) -> dict[str, Any]:
    return {"pk": encode(user_pk(user_id)), "sk": encode(f"USAGE#{day.isoformat()}")}


def _total_key(day: date) -> dict[str, Any]:
    return {"pk": encode(f"USAGE#{day.isoformat()}"), "sk": encode("TOTAL")}


def _next_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


class TokenUsage(Repository):
    @aws_call
    def add(self, user_id: str, tokens: int, *, now: datetime | None = None) -> None:
        """Add an answer's tokens to the day's counters of its user and of everyone."""
        now = now or utc_now()
        expires = int((_next_midnight(now) + timedelta(days=_KEEP_DAYS)).timestamp())
        for key in (_user_key(user_id, now.date()), _total_key(now.date())):
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="ADD tokens :tokens SET #ttl = :ttl",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":tokens": encode(tokens), ":ttl": encode(expires)},
            )

    @aws_call
    def spent(self, user_id: str, *, now: datetime | None = None) -> tuple[int, int]:
        """Tokens spent today (UTC) by the user, and by everyone."""
        day = (now or utc_now()).date()
        keys = [_user_key(user_id, day), _total_key(day)]
        found = self._client.batch_get_item(
            RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
        )
        counts = {
            (item["pk"]["S"], item["sk"]["S"]): int(item.get("tokens", {"N": "0"})["N"])
            for item in found.get("Responses", {}).get(self._table, [])
        }
        user = counts.get((user_pk(user_id), f"USAGE#{day.isoformat()}"), 0)
        total = counts.get((f"USAGE#{day.isoformat()}", "TOTAL"), 0)
        return user, total


class TokenBudget:
    """Refuses a question (RateLimited, 429) once a daily limit on model tokens is used up."""

    def __init__(self, usage: TokenUsage | None = None) -> None:
        self._usage = usage or TokenUsage()

    def check(self, user_id: str, *, now: datetime | None = None) -> None:
        settings = get_api_settings()
        per_user, ceiling = settings.daily_token_budget_per_user, settings.daily_token_ceiling
        if not per_user and not ceiling:
            return
        now = now or utc_now()
        user, total = self._usage.spent(user_id, now=now)
        retry_after = max(1, int((_next_midnight(now) - now).total_seconds()))
        if per_user and user >= per_user:
            raise RateLimited(
                f"You have used today's budget of {per_user:,} model tokens; "
                "it renews at 00:00 UTC.",
                retry_after=retry_after,
                code="token_budget_exhausted",
            )
        if ceiling and total >= ceiling:
            raise RateLimited(
                "The assistant has used its model budget for today; it renews at 00:00 UTC.",
                retry_after=retry_after,
                code="daily_ceiling_reached",
            )
