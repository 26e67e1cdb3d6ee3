"""Creates the system's AWS resources on the local endpoint: the same shapes the CDK app deploys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.repository import CONVERSATION_INDEX, OPEN_QUESTIONS_INDEX
from local.sns_bridge import Subscription
from state_machine.render import TASK_FUNCTIONS, render_dict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.literals import ProjectionTypeType
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

STATE_MACHINE_NAME = "QuestionWorkflow"
TABLE_NAME = "toro-assistant"
ACCOUNTS_TABLE_NAME = "toro-assistant-accounts"
QUESTIONS_TOPIC = "toro-questions"
ANSWERS_TOPIC = "toro-answers"
# Topic -> subscribed function.
TOPIC_SUBSCRIBERS = {QUESTIONS_TOPIC: "start_workflow", ANSWERS_TOPIC: "notify_user"}
MAX_RECEIVES = 3
VISIBILITY_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Resources:
    table_name: str
    accounts_table_name: str
    questions_topic_arn: str
    answers_topic_arn: str
    state_machine_arn: str
    subscriptions: tuple[Subscription, ...]

    def environment(self) -> dict[str, str]:
        """The variables every handler reads, with the names the CDK app sets."""
        return {
            "TABLE_NAME": self.table_name,
            "ACCOUNTS_TABLE_NAME": self.accounts_table_name,
            "QUESTIONS_TOPIC_ARN": self.questions_topic_arn,
            "ANSWERS_TOPIC_ARN": self.answers_topic_arn,
            "STATE_MACHINE_ARN": self.state_machine_arn,
        }


def fast_retries(definition: dict[str, Any], max_delay_seconds: int = 1) -> dict[str, Any]:
    """The definition with every retry waiting at most ``max_delay_seconds`` (for tests)."""
    for state in definition["States"].values():
        for retrier in state.get("Retry", []):
            retrier["IntervalSeconds"] = 1
            retrier["MaxDelaySeconds"] = max_delay_seconds
    return definition


def _create(
    dynamodb: DynamoDBClient,
    name: str,
    indexes: Sequence[tuple[str, str, ProjectionTypeType]] = (),
) -> str:
    """A table keyed ``pk``/``sk`` with TTL ``ttl``, and ``(name, partition key, projection)``
    indexes sorted by ``sk``, as the CDK app makes them."""
    attributes = ["pk", "sk", *(key for _, key, _ in indexes)]
    extra: dict[str, Any] = {}
    if indexes:
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": key, "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": projection},
            }
            for index, key, projection in indexes
        ]
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        **extra,
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    return name


def create_table(dynamodb: DynamoDBClient, name: str = TABLE_NAME) -> str:
    return _create(
        dynamodb,
        name,
        [
            (OPEN_QUESTIONS_INDEX, "open_status", "KEYS_ONLY"),
            (CONVERSATION_INDEX, "conversation", "ALL"),
        ],
    )


def create_accounts_table(dynamodb: DynamoDBClient, name: str = ACCOUNTS_TABLE_NAME) -> str:
    return _create(dynamodb, name)


def create_tables(dynamodb: DynamoDBClient) -> tuple[str, str]:
    """The main table and the accounts table."""
    return create_table(dynamodb), create_accounts_table(dynamodb)


def create_topic_subscription(
    sns: SNSClient,
    sqs: SQSClient,
    topic: str,
    function: str,
    visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS,
) -> tuple[str, Subscription]:
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    dlq_url = sqs.create_queue(QueueName=f"{topic}-{function}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"{topic}-{function}",
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription_arn = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)[
        "SubscriptionArn"
    ]
    return topic_arn, Subscription(
        topic_arn=topic_arn,
        function=function,
        queue_url=queue_url,
        dead_letter_queue_url=dlq_url,
        subscription_arn=subscription_arn,
    )


def create_state_machine(
    sfn: SFNClient, function_arns: dict[str, str], role_arn: str, *, fast: bool = False
) -> str:
    definition = render_dict(function_arns)
    if fast:
        definition = fast_retries(definition)
    return sfn.create_state_machine(
        name=STATE_MACHINE_NAME,
        definition=json.dumps(definition),
        roleArn=role_arn,
        type="STANDARD",
    )["stateMachineArn"]


def provision(
    *,
    dynamodb: DynamoDBClient,
    sns: SNSClient,
    sqs: SQSClient,
    sfn: SFNClient,
    function_arn: dict[str, str],
    account: str,
    fast_retries: bool = False,
) -> Resources:
    """Table, topics with their subscriber queues, and the state machine.

    ``fast_retries`` (for tests) caps the workflow's retry waits and redelivers a failed SNS
    message after one second instead of five.
    """
    table, accounts = create_tables(dynamodb)
    topic_arns: dict[str, str] = {}
    subscriptions = []
    for topic, function in TOPIC_SUBSCRIBERS.items():
        topic_arns[topic], subscription = create_topic_subscription(
            sns,
            sqs,
            topic,
            function,
            visibility_timeout=1 if fast_retries else VISIBILITY_TIMEOUT_SECONDS,
        )
        subscriptions.append(subscription)
    tokens = {token: function_arn[name] for token, name in TASK_FUNCTIONS.items()}
    machine = create_state_machine(
        sfn, tokens, f"arn:aws:iam::{account}:role/toro-workflow", fast=fast_retries
    )
    return Resources(
        table_name=table,
        accounts_table_name=accounts,
        questions_topic_arn=topic_arns[QUESTIONS_TOPIC],
        answers_topic_arn=topic_arns[ANSWERS_TOPIC],
        state_machine_arn=machine,
        subscriptions=tuple(subscriptions),
    )
