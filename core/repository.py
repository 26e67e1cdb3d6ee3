"""Single-table DynamoDB storage for questions and notifications.

Keys: ``USER#<user_id>`` / ``Q#<question_id>`` for questions and ``USER#<user_id>`` /
``N#<notification_id>`` for notifications (ULIDs, so a Query returns them in time order).
Questions that are still pending or processing carry ``open_status``, which feeds the sparse
index ``open-questions`` that a recovery sweeper reads.

Every status change is a conditional write naming the statuses it may come from, so a duplicate
task or a race can never move a question backwards or answer it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from core import clients
from core.aws_errors import aws_call
from core.errors import (
    IllegalTransition,
    InvalidCursor,
    NotFound,
    NotRetryable,
    QuestionNotFound,
)
from core.models import (
    Notification,
    Question,
    QuestionStatus,
    sources_of,
    utc_now,
)
from core.pagination import Page, decode_cursor, encode_cursor
from core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

OPEN_QUESTIONS_INDEX = "open-questions"
# Questions by conversation: partition ``conversation`` = ``<user_id>#<session_id>``, sort ``sk``.
CONVERSATION_INDEX = "conversation-questions"
_PHASE_FIELD = {
    QuestionStatus.PROCESSING: "processing_at",
    QuestionStatus.ANSWERED: "answered_at",
    QuestionStatus.FAILED: "failed_at",
    QuestionStatus.REJECTED: "rejected_at",
}
_FILTERED_READ = 100  # items read per query when a filter may drop some
_KEY_FIELDS = ("pk", "sk", "entity", "open_status", "ttl", "conversation")

M = TypeVar("M", bound=BaseModel)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def question_sk(question_id: str) -> str:
    return f"Q#{question_id}"


def notification_sk(notification_id: str) -> str:
    return f"N#{notification_id}"


def conversation_key(user_id: str, session_id: str) -> str:
    return f"{user_id}#{session_id}"


def conversation_sk(session_id: str) -> str:
    return f"CONV#{session_id}"


def session_sk(session_id: str) -> str:
    """A login session (its refresh token's state)."""
    return f"SESSION#{session_id}"


def encode(value: Any) -> AttributeValueTypeDef:
    if isinstance(value, datetime):
        value = value.isoformat()
    return _serializer.serialize(value)


def _to_item(data: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: encode(value) for name, value in data.items() if value is not None}


def decode_item(item: dict[str, Any]) -> dict[str, Any]:
    """A stored item as plain values, without the table's key and bookkeeping attributes."""
    data = {name: _deserializer.deserialize(value) for name, value in item.items()}
    for name in _KEY_FIELDS:
        data.pop(name, None)
    # Numbers come back as Decimal; the models want int.
    return {name: int(value) if _is_decimal(value) else value for name, value in data.items()}


def _sk(item: Any) -> str:
    return str(item["sk"]["S"])


def _is_decimal(value: Any) -> bool:
    return type(value).__name__ == "Decimal"


class Repository:
    def __init__(self, client: DynamoDBClient | None = None, table_name: str | None = None) -> None:
        self._client = client or clients.dynamodb()
        self._table = table_name or get_settings().table_name

    def _put_new(self, item: dict[str, AttributeValueTypeDef]) -> bool:
        """Store ``item`` unless its key exists; False when it already did."""
        try:
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def _query_page(
        self,
        user_id: str,
        *,
        prefix: str,
        limit: int,
        start_sk: str | None = None,
        filter_status: str | None = None,
        filter_expression: str | None = None,
        conversation: str | None = None,
        before_sk: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``limit`` items under ``prefix``, newest first, and the sk to resume after.

        With ``conversation``, the items come from that conversation's index instead of the
        user's partition; with ``before_sk``, only items that sort before it (instead of those
        under ``prefix``: use it where the partition holds one kind of item).

        Filters apply after DynamoDB reads, so a filtered page keeps reading until it is full or
        the partition is exhausted; the cursor is the last item returned, never one skipped.
        """
        values: dict[str, AttributeValueTypeDef] = {}
        query: dict[str, Any] = {
            "TableName": self._table,
            "ScanIndexForward": False,
            "ExpressionAttributeValues": values,
        }
        if conversation is None:
            values[":pk"] = encode(user_pk(user_id))
            partition = "pk = :pk"
        else:
            # Only questions carry ``conversation``: the index holds nothing else.
            values[":conversation"] = encode(conversation)
            query["IndexName"] = CONVERSATION_INDEX
            partition = "conversation = :conversation"
        if before_sk:
            values[":before"] = encode(before_sk)
            query["KeyConditionExpression"] = f"{partition} AND sk < :before"
        else:
            values[":prefix"] = encode(prefix)
            query["KeyConditionExpression"] = f"{partition} AND begins_with(sk, :prefix)"
        # DynamoDB allows no key attribute in a filter: only status and read_at are filtered.
        filters = [filter_expression] if filter_expression else []
        if filter_status:
            filters.append("#status = :status")
            values[":status"] = encode(filter_status)
            query["ExpressionAttributeNames"] = {"#status": "status"}
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        items: list[dict[str, Any]] = []
        start = start_sk
        while True:
            read = max(limit - len(items), _FILTERED_READ) if filters else limit - len(items)
            page_query = dict(query, Limit=read)
            if start:
                page_query["ExclusiveStartKey"] = self._start_key(user_id, start, conversation)
            response = self._client.query(**page_query)
            found = response["Items"]
            last_key = response.get("LastEvaluatedKey")
            for position, item in enumerate(found):
                items.append(item)
                if len(items) == limit:
                    more = position < len(found) - 1 or bool(last_key)
                    return items, (_sk(item) if more else None)
            if not last_key:
                return items, None
            start = _sk(last_key)

    def _cursor_page(
        self,
        model: type[M],
        user_id: str,
        *,
        prefix: str,
        limit: int,
        cursor: str | None,
        **options: Any,
    ) -> Page[M]:
        """A page of ``model`` items under ``prefix`` from an opaque cursor, with the next one."""
        start = decode_cursor(cursor, "after")["after"] if cursor else None
        items, last = self._query_page(
            user_id,
            prefix=prefix,
            limit=limit,
            start_sk=f"{prefix}{start}" if start else None,
            **options,
        )
        found = [model.model_validate(decode_item(item)) for item in items]
        next_cursor = encode_cursor(after=last.removeprefix(prefix)) if last else None
        return Page[M](items=found, next_cursor=next_cursor)

    @staticmethod
    def _start_key(
        user_id: str, sk: str, conversation: str | None
    ) -> dict[str, AttributeValueTypeDef]:
        key = {"pk": encode(user_pk(user_id)), "sk": encode(sk)}
        if conversation is not None:
            key["conversation"] = encode(conversation)
        return key


class QuestionRepository(Repository):
    @aws_call
    def create(self, question: Question) -> Question:
        item = _to_item(question.model_dump())
        item.update(
            pk=encode(user_pk(question.user_id)),
            sk=encode(question_sk(question.question_id)),
            entity=encode("question"),
            open_status=encode(question.status.value),
            conversation=encode(conversation_key(question.user_id, question.session_id)),
        )
        if not self._put_new(item):
            raise IllegalTransition(
                f"Question {question.question_id} already exists.", current=question.status.value
            )
        return question

    @aws_call
    def get(self, user_id: str, question_id: str) -> Question:
        response = self._client.get_item(
            TableName=self._table,
            Key=self._key(user_id, question_id),
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise QuestionNotFound(f"Question {question_id} does not exist.")
        return Question.model_validate(decode_item(response["Item"]))

    @aws_call
    def transition(
        self,
        user_id: str,
        question_id: str,
        target: QuestionStatus,
        **fields: Any,
    ) -> Question:
        """Move a question to ``target`` if its current status allows it; set ``fields`` too.

        Raises IllegalTransition (with the current status) when the move is not allowed, and
        QuestionNotFound when there is no such question.
        """
        allowed = sorted(sources_of(target))
        now = utc_now()
        values: dict[str, Any] = {"status": target.value, "updated_at": now}
        if target in _PHASE_FIELD:
            values[_PHASE_FIELD[target]] = now
        values.update({name: value for name, value in fields.items() if value is not None})

        names = {f"#f{i}": name for i, name in enumerate(values)}
        attr_values = {f":v{i}": encode(value) for i, value in enumerate(values.values())}
        sets = [f"#f{i} = :v{i}" for i in range(len(values))]
        removes: list[str] = []
        if target.is_final:
            removes.append("open_status")
            ttl_days = get_settings().record_ttl_days
            if ttl_days:
                sets.append("#ttl = :ttl")
                names["#ttl"] = "ttl"
                attr_values[":ttl"] = encode(int((now + timedelta(days=ttl_days)).timestamp()))
        else:
            sets.append("open_status = :open")
            attr_values[":open"] = encode(target.value)

        froms = {f":from{i}": encode(status.value) for i, status in enumerate(allowed)}
        attr_values.update(froms)
        names["#status"] = "status"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(user_id, question_id),
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({', '.join(froms)})",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attr_values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise
            old: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            if not old:
                raise QuestionNotFound(f"Question {question_id} does not exist.") from exc
            current = _deserializer.deserialize(old["status"])
            raise IllegalTransition(
                f"Question {question_id} is {current}; it cannot become {target.value}.",
                current=current,
            ) from exc
        return Question.model_validate(decode_item(response["Attributes"]))

    @aws_call
    def list_for_user(
        self,
        user_id: str,
        *,
        limit: int,
        status: QuestionStatus | None = None,
        cursor: str | None = None,
        session_id: str | None = None,
    ) -> Page[Question]:
        """The user's questions (or one conversation's), newest first, optionally of one status."""
        return self._cursor_page(
            Question,
            user_id,
            prefix="Q#",
            limit=limit,
            cursor=cursor,
            filter_status=status.value if status else None,
            conversation=conversation_key(user_id, session_id) if session_id else None,
        )

    @aws_call
    def answered_before(self, question: Question, limit: int) -> list[Question]:
        """The conversation's answered questions asked before ``question``, oldest first."""
        if limit <= 0:
            return []
        items, _ = self._query_page(
            question.user_id,
            prefix="Q#",
            limit=limit,
            filter_status=QuestionStatus.ANSWERED.value,
            conversation=conversation_key(question.user_id, question.session_id),
            before_sk=question_sk(question.question_id),
        )
        return [Question.model_validate(decode_item(item)) for item in reversed(items)]

    @aws_call
    def get_many(self, user_id: str, question_ids: list[str]) -> list[Question]:
        """The questions that exist among ``question_ids``, in that order."""
        if not question_ids:
            return []
        keys = [self._key(user_id, question_id) for question_id in dict.fromkeys(question_ids)]
        found: dict[str, Question] = {}
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(self._table, []):
                question = Question.model_validate(decode_item(item))
                found[question.question_id] = question
            request = dict(response.get("UnprocessedKeys") or {})
        return [found[question_id] for question_id in question_ids if question_id in found]

    @aws_call
    def open_before(
        self, status: QuestionStatus, before_question_id: str, limit: int
    ) -> list[tuple[str, str]]:
        """(user_id, question_id) of questions still ``status`` that were created before
        ``before_question_id`` (ids sort by time), oldest first, from the open-questions index."""
        response = self._client.query(
            TableName=self._table,
            IndexName=OPEN_QUESTIONS_INDEX,
            KeyConditionExpression="open_status = :status AND sk < :before",
            ExpressionAttributeValues={
                ":status": encode(status.value),
                ":before": encode(question_sk(before_question_id)),
            },
            Limit=limit,
        )
        found = []
        for item in response.get("Items", []):
            pk, sk = item["pk"]["S"], item["sk"]["S"]
            found.append((pk.removeprefix("USER#"), sk.removeprefix("Q#")))
        return found

    @aws_call
    def reset_for_retry(self, user_id: str, question_id: str) -> Question:
        """A failed or rejected question back to pending, for one more execution, named
        ``<question_id>-retry-<n>``; NotRetryable when it is not failed or rejected (any more)."""
        current = self.get(user_id, question_id)
        if current.status not in (QuestionStatus.FAILED, QuestionStatus.REJECTED):
            raise NotRetryable(
                f"Question {question_id} is {current.status.value}; only a failed or rejected "
                "question can be tried again."
            )
        attempt = current.retries + 1
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(user_id, question_id),
                UpdateExpression=(
                    "SET #status = :pending, open_status = :pending, retries = :attempt, "
                    "updated_at = :now, execution_name = :name "
                    "REMOVE error_code, error_message, failed_at, rejected_at, processing_at, "
                    "execution_arn, workflow_claimed_at, resent_at, dispatch_failed_at, #ttl"
                ),
                # Under the status and the count just read: two retries at once make one.
                ConditionExpression="#status = :was AND (attribute_not_exists(retries) OR "
                "retries = :before)",
                ExpressionAttributeNames={"#status": "status", "#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":pending": encode(QuestionStatus.PENDING.value),
                    ":attempt": encode(attempt),
                    ":before": encode(current.retries),
                    ":was": encode(current.status.value),
                    ":now": encode(utc_now()),
                    ":name": encode(f"{question_id}-retry-{attempt}"),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise NotRetryable(f"Question {question_id} changed meanwhile.") from exc
            raise
        return Question.model_validate(decode_item(response["Attributes"]))

    @aws_call
    def mark_resent(self, user_id: str, question_id: str, now: datetime | None = None) -> None:
        """The sweeper sent the question again: no start marker, no dispatch failure."""
        self._client.update_item(
            TableName=self._table,
            Key=self._key(user_id, question_id),
            UpdateExpression="SET resent_at = :now REMOVE workflow_claimed_at, dispatch_failed_at",
            ConditionExpression="attribute_exists(pk) AND #status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":now": encode(now or utc_now()),
                ":pending": encode(QuestionStatus.PENDING.value),
            },
        )

    @aws_call
    def mark_dispatch_failed(self, user_id: str, question_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._key(user_id, question_id),
            UpdateExpression="SET dispatch_failed_at = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": encode(utc_now())},
        )

    @aws_call
    def claim_start(self, user_id: str, question_id: str) -> bool:
        """Mark the question's workflow as being started; False if a delivery already did.

        Step Functions deduplicates STANDARD executions by name, but not EXPRESS ones, where a
        duplicate SNS delivery would run the workflow twice (a second notification)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(user_id, question_id),
                UpdateExpression="SET workflow_claimed_at = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists("
                "workflow_claimed_at)",
                ExpressionAttributeValues={":now": encode(utc_now())},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False
        return True

    @aws_call
    def release_start(self, user_id: str, question_id: str) -> None:
        """Undo ``claim_start`` when the start failed, so that a retried delivery starts it."""
        self._client.update_item(
            TableName=self._table,
            Key=self._key(user_id, question_id),
            UpdateExpression="REMOVE workflow_claimed_at",
            ConditionExpression="attribute_exists(pk)",
        )

    @aws_call
    def clear_dispatch_failed(self, user_id: str, question_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._key(user_id, question_id),
            UpdateExpression="REMOVE dispatch_failed_at",
            ConditionExpression="attribute_exists(pk)",
        )

    def _key(self, user_id: str, question_id: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": encode(user_pk(user_id)), "sk": encode(question_sk(question_id))}


class NotificationRepository(Repository):
    @aws_call
    def add(self, notification: Notification) -> Notification:
        item = _to_item(notification.model_dump())
        item.update(
            pk=encode(user_pk(notification.user_id)),
            sk=encode(notification_sk(notification.notification_id)),
            entity=encode("notification"),
        )
        ttl_days = get_settings().record_ttl_days
        if ttl_days:
            expires = notification.created_at + timedelta(days=ttl_days)
            item["ttl"] = encode(int(expires.timestamp()))
        if not self._put_new(item):
            # Delivered twice: the first one stands.
            return self.get(notification.user_id, notification.notification_id)
        return notification

    @aws_call
    def get(self, user_id: str, notification_id: str) -> Notification:
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": encode(user_pk(user_id)), "sk": encode(notification_sk(notification_id))},
            ConsistentRead=True,
        )
        return Notification.model_validate(decode_item(response["Item"]))

    @aws_call
    def list_for_user(self, user_id: str) -> list[Notification]:
        """Every notification of the user, newest first."""
        items, _ = self._query_page(user_id, prefix="N#", limit=1000)
        return [Notification.model_validate(decode_item(item)) for item in items]

    @aws_call
    def page(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Notification]:
        """Unread notifications first, then read ones; newest first within each."""
        phase, after = "unread", _START
        if cursor:
            position = decode_cursor(cursor, "phase", "after")
            phase, after = position["phase"], position["after"]
            if phase not in _READ_FILTER:
                raise InvalidCursor("The cursor is not valid.")
        found: list[dict[str, Any]] = []
        while True:
            items, last = self._query_page(
                user_id,
                prefix="N#",
                limit=limit - len(found),
                start_sk=None if after == _START else notification_sk(after),
                filter_expression=_READ_FILTER[phase],
            )
            found.extend(items)
            if last:
                next_cursor: str | None = encode_cursor(phase=phase, after=last.removeprefix("N#"))
                break
            if phase == "read":
                next_cursor = None
                break
            phase, after = "read", _START
            if len(found) == limit:
                next_cursor = encode_cursor(phase=phase, after=after)
                break
        notifications = [Notification.model_validate(decode_item(item)) for item in found]
        return Page[Notification](items=notifications, next_cursor=next_cursor)

    @aws_call
    def unread_count(self, user_id: str) -> int:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": _READ_FILTER["unread"],
            "ExpressionAttributeValues": {":pk": encode(user_pk(user_id)), ":prefix": encode("N#")},
            "Select": "COUNT",
        }
        count = 0
        while True:
            response = self._client.query(**query)
            count += response["Count"]
            if "LastEvaluatedKey" not in response:
                return count
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    @aws_call
    def mark_read(self, user_id: str, notification_id: str) -> Notification:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={
                    "pk": encode(user_pk(user_id)),
                    "sk": encode(notification_sk(notification_id)),
                },
                UpdateExpression="SET read_at = if_not_exists(read_at, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": encode(utc_now())},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                raise NotFound(f"Notification {notification_id} does not exist.") from exc
            raise
        return Notification.model_validate(decode_item(response["Attributes"]))


_START = "start"
_READ_FILTER = {"unread": "attribute_not_exists(read_at)", "read": "attribute_exists(read_at)"}


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
