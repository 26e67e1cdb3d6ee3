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
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from core import clients
from core.aws_errors import aws_call
from core.errors import IllegalTransition, QuestionNotFound
from core.models import (
    Notification,
    Question,
    QuestionStatus,
    sources_of,
    utc_now,
)
from core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

OPEN_QUESTIONS_INDEX = "open-questions"
_PHASE_FIELD = {
    QuestionStatus.PROCESSING: "processing_at",
    QuestionStatus.ANSWERED: "answered_at",
    QuestionStatus.FAILED: "failed_at",
    QuestionStatus.REJECTED: "rejected_at",
}
_KEY_FIELDS = ("pk", "sk", "entity", "open_status", "ttl")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def question_sk(question_id: str) -> str:
    return f"Q#{question_id}"


def notification_sk(notification_id: str) -> str:
    return f"N#{notification_id}"


def _encode(value: Any) -> AttributeValueTypeDef:
    if isinstance(value, datetime):
        value = value.isoformat()
    return _serializer.serialize(value)


def _to_item(data: dict[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: _encode(value) for name, value in data.items() if value is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    data = {name: _deserializer.deserialize(value) for name, value in item.items()}
    for name in _KEY_FIELDS:
        data.pop(name, None)
    # Numbers come back as Decimal; the models want int.
    return {name: int(value) if _is_decimal(value) else value for name, value in data.items()}


def _is_decimal(value: Any) -> bool:
    return type(value).__name__ == "Decimal"


class _Repository:
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


class QuestionRepository(_Repository):
    @aws_call
    def create(self, question: Question) -> Question:
        item = _to_item(question.model_dump())
        item.update(
            pk=_encode(user_pk(question.user_id)),
            sk=_encode(question_sk(question.question_id)),
            entity=_encode("question"),
            open_status=_encode(question.status.value),
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
            raise QuestionNotFound(f"Question {question_id} of user {user_id} does not exist.")
        return Question.model_validate(_from_item(response["Item"]))

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
        attr_values = {f":v{i}": _encode(value) for i, value in enumerate(values.values())}
        sets = [f"#f{i} = :v{i}" for i in range(len(values))]
        removes: list[str] = []
        if target.is_final:
            removes.append("open_status")
            ttl_days = get_settings().record_ttl_days
            if ttl_days:
                sets.append("#ttl = :ttl")
                names["#ttl"] = "ttl"
                attr_values[":ttl"] = _encode(int((now + timedelta(days=ttl_days)).timestamp()))
        else:
            sets.append("open_status = :open")
            attr_values[":open"] = _encode(target.value)

        froms = {f":from{i}": _encode(status.value) for i, status in enumerate(allowed)}
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
                raise QuestionNotFound(
                    f"Question {question_id} of user {user_id} does not exist."
                ) from exc
            current = _deserializer.deserialize(old["status"])
            raise IllegalTransition(
                f"Question {question_id} is {current}; it cannot become {target.value}.",
                current=current,
            ) from exc
        return Question.model_validate(_from_item(response["Attributes"]))

    def _key(self, user_id: str, question_id: str) -> dict[str, AttributeValueTypeDef]:
        return {"pk": _encode(user_pk(user_id)), "sk": _encode(question_sk(question_id))}


class NotificationRepository(_Repository):
    @aws_call
    def add(self, notification: Notification) -> Notification:
        item = _to_item(notification.model_dump())
        item.update(
            pk=_encode(user_pk(notification.user_id)),
            sk=_encode(notification_sk(notification.notification_id)),
            entity=_encode("notification"),
        )
        ttl_days = get_settings().record_ttl_days
        if ttl_days:
            expires = notification.created_at + timedelta(days=ttl_days)
            item["ttl"] = _encode(int(expires.timestamp()))
        if not self._put_new(item):
            # Delivered twice: the first one stands.
            return self.get(notification.user_id, notification.notification_id)
        return notification

    @aws_call
    def get(self, user_id: str, notification_id: str) -> Notification:
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": _encode(user_pk(user_id)), "sk": _encode(notification_sk(notification_id))},
            ConsistentRead=True,
        )
        return Notification.model_validate(_from_item(response["Item"]))

    @aws_call
    def list_for_user(self, user_id: str) -> list[Notification]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": _encode(user_pk(user_id)), ":prefix": _encode("N#")},
            ScanIndexForward=False,
        )
        return [Notification.model_validate(_from_item(item)) for item in response["Items"]]


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
