"""Publishing to the questions and answers topics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core import clients
from core.aws_errors import aws_call
from core.models import AnswerReady, QuestionSubmitted
from core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef


def _attributes(**values: str) -> dict[str, MessageAttributeValueTypeDef]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


class Publisher:
    def __init__(self, client: SNSClient | None = None) -> None:
        self._client = client or clients.sns()

    @aws_call
    def question_submitted(self, message: QuestionSubmitted) -> str:
        """Announce a stored pending question; the subscriber starts its workflow."""
        response = self._client.publish(
            TopicArn=get_settings().questions_topic_arn,
            Message=message.model_dump_json(exclude_none=True),
            MessageAttributes=_attributes(user_id=message.user_id),
        )
        return response["MessageId"]

    @aws_call
    def answer_ready(self, message: AnswerReady) -> str:
        """Tell subscribers a question reached a final status (filterable by user and status)."""
        response = self._client.publish(
            TopicArn=get_settings().answers_topic_arn,
            Message=message.model_dump_json(),
            MessageAttributes=_attributes(user_id=message.user_id, status=message.status.value),
        )
        return response["MessageId"]
