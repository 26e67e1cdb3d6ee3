"""Handlers against moto: the real table, topics and state machine shapes, in memory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core import clients
from core.models import Question, QuestionStatus
from core.repository import QuestionRepository
from local.provision import (
    ANSWERS_TOPIC,
    QUESTIONS_TOPIC,
    create_state_machine,
    create_tables,
)
from local.scripted_openai import ScriptedOpenAI
from state_machine.render import TASK_FUNCTIONS

# The ids every sample event in events/ refers to.
QUESTION_ID = "01JDXQ3M7T4W5Y8Z9A0B1C2D3E"
USER_ID = "ana"
SESSION_ID = "01JDXQ2ZSESSIONANA000000"


@contextmanager
def hooked(event: str, handler: Callable[..., Any]) -> Iterator[None]:
    """``handler`` called on a botocore ``event`` of the project's DynamoDB client (such as
    ``before-parameter-build.dynamodb.GetItem``) while the block runs: to watch the calls made,
    or to change the table just before one, as another request would."""
    events = clients.dynamodb().meta.events
    events.register(event, handler)
    try:
        yield
    finally:
        events.unregister(event, handler)


@dataclass
class Aws:
    answers_queue_url: str
    questions_queue_url: str
    state_machine_arn: str

    def published(self, queue_url: str) -> list[dict[str, Any]]:
        """SNS notifications that reached a topic (through an SQS subscription)."""
        sqs = boto3.client("sqs")
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in received.get("Messages", [])]

    def executions(self) -> list[Any]:
        sfn = boto3.client("stepfunctions")
        return sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]


def _captured_topic(name: str) -> tuple[str, str]:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{name}-capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        create_tables(boto3.client("dynamodb"))
        questions_arn, questions_queue = _captured_topic(QUESTIONS_TOPIC)
        answers_arn, answers_queue = _captured_topic(ANSWERS_TOPIC)
        arns = {
            token: f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
            for token, name in TASK_FUNCTIONS.items()
        }
        machine = create_state_machine(
            boto3.client("stepfunctions"), arns, "arn:aws:iam::123456789012:role/toro-workflow"
        )
        monkeypatch.setenv("TABLE_NAME", "toro-assistant")
        monkeypatch.setenv("QUESTIONS_TOPIC_ARN", questions_arn)
        monkeypatch.setenv("ANSWERS_TOPIC_ARN", answers_arn)
        monkeypatch.setenv("STATE_MACHINE_ARN", machine)
        yield Aws(answers_queue, questions_queue, machine)


@pytest.fixture
def stored_question(aws: Aws) -> Question:
    """The sample events' question, stored as pending."""
    return QuestionRepository().create(
        Question(
            question_id=QUESTION_ID,
            user_id=USER_ID,
            session_id=SESSION_ID,
            text="O que é o Tesouro Selic?",
        )
    )


def move_to(status: QuestionStatus) -> Question:
    repository = QuestionRepository()
    question = repository.get(USER_ID, QUESTION_ID)
    path = {
        QuestionStatus.PROCESSING: [QuestionStatus.PROCESSING],
        QuestionStatus.ANSWERED: [QuestionStatus.PROCESSING, QuestionStatus.ANSWERED],
    }[status]
    for step in path:
        question = repository.transition(
            USER_ID,
            QUESTION_ID,
            step,
            **({"answer": "x"} if step is QuestionStatus.ANSWERED else {}),
        )
    return question


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAI]:
    server = ScriptedOpenAI(slow_seconds=1.5).start()
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_TIMEOUT_SECONDS", "0.5")
    yield server
    server.stop()
