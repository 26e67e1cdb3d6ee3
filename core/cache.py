"""The answer cache: a conversation's first question, asked again, reuses the stored answer.

The key is the question's normalised text (case, accents, punctuation and spacing do not count)
with the knowledge base's version, the model and the prompt's version: a change to any of them
asks the model again. Only answered first questions are stored (PersistAnswer writes them);
follow-ups, failures and rejections never are. Items: ``CACHE#<key>`` / ``ANSWER`` in the main
table, expiring after ``ANSWER_CACHE_TTL_SECONDS`` (also checked on read: DynamoDB's TTL deletes
late).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from core.aws_errors import aws_call
from core.models import Completion, Source, utc_now
from core.repository import Repository, decode_item, encode
from core.settings import get_settings
from core.text import normalise


class CachedAnswer(BaseModel):
    question_id: str
    answer: str
    model: str
    sources: list[Source]
    kb_version: str
    grounded: bool

    def reused(self, key: str) -> Completion:
        """This answer as the completion of a new question: no tokens, no model time."""
        return Completion(
            answer=self.answer,
            model=self.model,
            prompt_tokens=0,
            completion_tokens=0,
            latency_ms=0,
            sources=self.sources,
            kb_version=self.kb_version,
            grounded=self.grounded,
            from_cache=True,
            cached_from=self.question_id,
            cache_key=key,
        )


def cache_key(question: str, kb_version: str, model: str, prompt_version: str) -> str:
    material = "\x1f".join((normalise(question), kb_version, model, prompt_version))
    return hashlib.sha256(material.encode()).hexdigest()


def _key(key: str) -> dict[str, Any]:
    return {"pk": encode(f"CACHE#{key}"), "sk": encode("ANSWER")}


class AnswerCache(Repository):
    @property
    def enabled(self) -> bool:
        return get_settings().answer_cache_ttl_seconds > 0

    @aws_call
    def get(self, key: str) -> CachedAnswer | None:
        if not self.enabled:
            return None
        found = self._client.get_item(TableName=self._table, Key=_key(key))
        item = found.get("Item")
        if not item or int(item["ttl"]["N"]) <= int(utc_now().timestamp()):
            return None
        return CachedAnswer.model_validate(decode_item(item))

    @aws_call
    def put(self, key: str, question_id: str, completion: Completion) -> bool:
        """Store an answer for reuse; False when one is stored already (the first one stands)."""
        if not self.enabled or completion.kb_version is None:
            return False
        expires = utc_now() + timedelta(seconds=get_settings().answer_cache_ttl_seconds)
        cached = CachedAnswer(
            question_id=question_id,
            answer=completion.answer,
            model=completion.model,
            sources=completion.sources,
            kb_version=completion.kb_version,
            grounded=completion.grounded,
        )
        item = {name: encode(value) for name, value in cached.model_dump().items()}
        item.update(_key(key), entity=encode("answer_cache"), ttl=encode(int(expires.timestamp())))
        return self._put_new_or_expired(item)

    def _put_new_or_expired(self, item: dict[str, Any]) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #ttl <= :now",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":now": encode(int(utc_now().timestamp()))},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
