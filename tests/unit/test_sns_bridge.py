from __future__ import annotations

import json

from core.events import parse_sns
from core.models import QuestionSubmitted
from local.sns_bridge import lambda_event

SUBSCRIPTION = "arn:aws:sns:us-east-1:123456789012:toro-questions:4b8f"


def test_a_minimal_sqs_envelope_becomes_an_sns_event_the_handlers_parse() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:toro-questions",
        "Message": json.dumps({"question_id": "Q1", "user_id": "ana"}),
        "Timestamp": "2026-11-29T10:00:00.000Z",
        "MessageAttributes": {"user_id": {"Type": "String", "Value": "ana"}},
    }
    event = lambda_event(envelope, SUBSCRIPTION)

    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"] == SUBSCRIPTION
    assert record["Sns"]["MessageAttributes"] == envelope["MessageAttributes"]
    assert record["Sns"]["UnsubscribeUrl"].startswith("https://sns.us-east-1.amazonaws.com/")
    [message] = parse_sns(event, QuestionSubmitted)
    assert (message.question_id, message.user_id) == ("Q1", "ana")
