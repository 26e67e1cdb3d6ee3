"""What people think of the answers: a rating per answered question, and the totals.

The rating (thumbs up or down, with an optional comment) is stored on the question's item; the
totals on one item, ``FEEDBACK`` / ``TOTAL``, changed in the same transaction, so the two never
disagree. Rating an answer again replaces the rating: the totals move from one side to the other.
``make eval`` prints the totals next to its offline scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from core.aws_errors import aws_call
from core.errors import IllegalTransition, NotAnswered
from core.models import Feedback, Question, QuestionStatus, Rating, utc_now
from core.observability import MetricUnit, metrics
from core.repository import QuestionRepository, Repository, encode, question_sk, user_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

COMMENT_MAX_CHARS = 1000
_TOTALS_KEY = {"pk": encode("FEEDBACK"), "sk": encode("TOTAL")}
_METRIC = {Rating.UP: "AnswersRatedUp", Rating.DOWN: "AnswersRatedDown"}
# Races with another request rating the same answer that a rating survives (three tries).
_RACES_RETRIED = 2


@dataclass(frozen=True)
class FeedbackTotals:
    up: int
    down: int

    @property
    def rated(self) -> int:
        return self.up + self.down

    @property
    def share_up(self) -> float | None:
        return self.up / self.rated if self.rated else None


class FeedbackRepository(Repository):
    @aws_call
    def give(
        self, question: Question, rating: Rating, comment: str | None, now: datetime | None = None
    ) -> Feedback:
        """Store the rating of ``question`` (as last read) and move the totals with it.

        IllegalTransition when the question is no longer as read: not answered, or rated
        meanwhile by another request (read it again and retry)."""
        feedback = Feedback(rating=rating, comment=comment or None, at=now or utc_now())
        before = question.feedback.rating if question.feedback else None
        values: dict[str, Any] = {
            ":feedback": encode(feedback.model_dump(mode="json", exclude_none=True)),
            ":answered": encode(QuestionStatus.ANSWERED.value),
        }
        condition = "attribute_exists(pk) AND #status = :answered AND "
        if before is None:
            condition += "attribute_not_exists(feedback)"
        else:
            condition += "feedback.rating = :before"
            values[":before"] = encode(before.value)
        actions: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {
                        "pk": encode(user_pk(question.user_id)),
                        "sk": encode(question_sk(question.question_id)),
                    },
                    "UpdateExpression": "SET feedback = :feedback",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if before != rating:
            change = {rating.value: 1} | ({before.value: -1} if before else {})
            actions.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _TOTALS_KEY,
                        "UpdateExpression": "ADD "
                        + ", ".join(f"#{name} :{name}" for name in change),
                        "ExpressionAttributeNames": {f"#{name}": name for name in change},
                        "ExpressionAttributeValues": {
                            f":{name}": encode(delta) for name, delta in change.items()
                        },
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            raise IllegalTransition(
                f"Question {question.question_id} changed while it was being rated.",
                current=question.status.value,
            ) from exc
        if before != rating:
            metrics.add_metric(name=_METRIC[rating], unit=MetricUnit.Count, value=1)
        return feedback

    @aws_call
    def totals(self) -> FeedbackTotals:
        found = self._client.get_item(TableName=self._table, Key=_TOTALS_KEY, ConsistentRead=True)
        item = found.get("Item", {})
        return FeedbackTotals(
            up=int(item.get("up", {"N": "0"})["N"]),
            down=int(item.get("down", {"N": "0"})["N"]),
        )


def rate_answer(
    user_id: str,
    question_id: str,
    rating: Rating,
    comment: str | None,
    *,
    questions: QuestionRepository | None = None,
    feedback: FeedbackRepository | None = None,
) -> Feedback:
    """Rate the user's answered question; NotAnswered (409) for one without an answer yet."""
    questions = questions or QuestionRepository()
    feedback = feedback or FeedbackRepository()

    def attempt() -> Feedback:
        question = questions.get(user_id, question_id)
        if question.status is not QuestionStatus.ANSWERED:
            raise NotAnswered(
                f"Question {question_id} is {question.status.value}; only an answer can be rated."
            )
        return feedback.give(question, rating, comment)

    for _ in range(_RACES_RETRIED):
        try:
            return attempt()
        except IllegalTransition:
            continue  # rated at the same moment by another request: read it again
    return attempt()  # the last try: losing this race too is the caller's 409
