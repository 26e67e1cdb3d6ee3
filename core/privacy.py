"""A user's rights over their data (LGPD): a copy of everything stored about them, and deletion.

Everything of a user lives under their partition, ``USER#<user_id>``: in the accounts table
their profile and login sessions, in the main table their conversations, questions with their
answers and ratings, notifications, open live connections, rate-limit and token counters; plus
five things outside it:

- ``USERNAME#<name>``: the username's claim (accounts table) and its failed-login counter;
- ``WS#<connection>``: each open live connection's link back to its user;
- ``CACHE#<key>``: an answer cache entry made from one of their first questions (the question
  keeps its ``cache_key``), deleted only while it is still the one made from their question;
- ``IDEMPOTENCY#submit_question`` and ``IDEMPOTENCY#call_openai``: the records of the last
  day's requests (they expire after ``IDEMPOTENCY_TTL_SECONDS``), found by their content;
- what AWS keeps by itself: Step Functions' execution histories (their input is the question's
  and user's ids; the retrieval step records entry ids and scores, never text) for 90 days after
  an execution ends, and the functions' logs for their retention (30 days). Neither can be
  deleted item by item; both expire.

Deletion refuses while a question of the user is still pending or processing: its execution
would write the answer and a notification back after the deletion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from core.aws_errors import aws_call
from core.errors import QuestionsStillOpen
from core.models import Question, QuestionStatus
from core.repository import Repository, decode_item, encode, user_pk
from core.settings import get_settings

IDEMPOTENCY_PARTITIONS = ("IDEMPOTENCY#submit_question", "IDEMPOTENCY#call_openai")
_OPEN = (QuestionStatus.PENDING.value, QuestionStatus.PROCESSING.value)


@dataclass(frozen=True)
class Deleted:
    items: int


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]}


def _kind(sk: str) -> str:
    return sk.split("#", 1)[0]


class PersonalData(Repository):
    @property
    def _accounts(self) -> str:
        return get_settings().accounts_table_name

    def _partition(self, pk: str, table: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=table or self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": encode(pk)},
            ConsistentRead=True,
        ):
            items.extend(page.get("Items", []))
        return items

    @aws_call
    def export(self, user_id: str) -> dict[str, Any]:
        """Everything stored about the user, as plain data (never the password's hash, nor the
        sessions' token ids)."""
        found: dict[str, list[dict[str, Any]]] = {}
        profile: dict[str, Any] = {}
        own = self._partition(user_pk(user_id), self._accounts) + self._partition(user_pk(user_id))
        for item in own:
            sk = item["sk"]["S"]
            data = decode_item(item)
            if sk == "PROFILE":
                profile = {k: v for k, v in data.items() if k != "password_hash"}
                continue
            kind = _kind(sk)
            if kind == "SESSION":
                data = {k: v for k, v in data.items() if not k.endswith("jti")}
            found.setdefault(kind, []).append(data)
        return {
            "profile": profile,
            "sessions": found.get("SESSION", []),
            "conversations": found.get("CONV", []),
            "questions": found.get("Q", []),
            "notifications": found.get("N", []),
            "token_usage": found.get("USAGE", []),
            "rate_limits": found.get("RATE", []),
        }

    @aws_call
    def delete(self, user_id: str, username: str) -> Deleted:
        """Delete every item of the user; QuestionsStillOpen while one is being answered."""
        own = self._partition(user_pk(user_id))
        questions = [
            Question.model_validate(decode_item(item))
            for item in own
            if item["sk"]["S"].startswith("Q#")
        ]
        if any(question.status.value in _OPEN for question in questions):
            raise QuestionsStillOpen(
                "A question of yours is still being answered; delete the account when it is."
            )
        account = self._partition(user_pk(user_id), self._accounts) + self._partition(
            f"USERNAME#{username}", self._accounts
        )
        keys = [(self._accounts, _key(item)) for item in account]
        keys += [(self._table, _key(item)) for item in own]
        # Open live connections are kept under the connection too (core/push.py).
        keys += [
            (self._table, {"pk": item["sk"], "sk": encode("CONNECTION")})
            for item in own
            if item["sk"]["S"].startswith("WS#")
        ]
        keys += [(self._table, _key(item)) for item in self._partition(f"USERNAME#{username}")]
        # The records hold the question (with the user's id) and the model's answer.
        marks = {user_id} | {q.answer for q in questions if q.answer}
        keys += [(self._table, key) for key in self._idempotency_records(marks)]
        for question in questions:
            if question.cache_key:
                self._delete_cache_entry(question.cache_key, question.question_id)
        for start in range(0, len(keys), 25):
            request: dict[str, Any] = {}
            for table, key in keys[start : start + 25]:
                request.setdefault(table, []).append({"DeleteRequest": {"Key": key}})
            while request:
                done = self._client.batch_write_item(RequestItems=request)
                request = dict(done.get("UnprocessedItems") or {})
        return Deleted(items=len(keys))

    def _idempotency_records(self, marks: set[str]) -> list[dict[str, Any]]:
        """The last day's idempotency records that hold any of ``marks``."""
        keys = []
        for partition in IDEMPOTENCY_PARTITIONS:
            for item in self._partition(partition):
                content = " ".join(
                    str(value.get("S", "")) for name, value in item.items() if name != "pk"
                )
                if any(mark in content for mark in marks):
                    keys.append({"pk": item["pk"], "sk": item["sk"]})
        return keys

    def _delete_cache_entry(self, key: str, question_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": encode(f"CACHE#{key}"), "sk": encode("ANSWER")},
                ConditionExpression="question_id = :question",
                ExpressionAttributeValues={":question": encode(question_id)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
