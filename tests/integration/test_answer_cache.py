"""The answer cache's entries against moto: the first answer stands, an expired one is replaced."""

from __future__ import annotations

import boto3

from core.cache import AnswerCache
from core.models import utc_now
from tests.conftest import completion
from tests.integration.conftest import Aws

KEY = "c" * 64


def test_the_first_answer_stands(aws: Aws) -> None:
    cache = AnswerCache()
    assert cache.put(KEY, "q-first", completion("first"))
    assert not cache.put(KEY, "q-second", completion("second"))
    cached = cache.get(KEY)
    assert cached is not None and (cached.question_id, cached.answer) == ("q-first", "first")


def test_an_expired_answer_is_not_served_and_is_replaced(aws: Aws) -> None:
    cache = AnswerCache()
    assert cache.put(KEY, "q-old", completion("old"))
    # Past its time, but not yet deleted by DynamoDB's TTL (which can take days).
    boto3.client("dynamodb").update_item(
        TableName="toro-assistant",
        Key={"pk": {"S": f"CACHE#{KEY}"}, "sk": {"S": "ANSWER"}},
        UpdateExpression="SET #ttl = :past",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":past": {"N": str(int(utc_now().timestamp()) - 1)}},
    )
    assert cache.get(KEY) is None
    assert cache.put(KEY, "q-new", completion("new"))
    cached = cache.get(KEY)
    assert cached is not None and (cached.question_id, cached.answer) == ("q-new", "new")
