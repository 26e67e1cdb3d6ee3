"""End to end from an SNS publish, through the real ASL, to the stored answer and notification."""

from __future__ import annotations

import json
import time

import pytest

from core.models import QuestionStatus
from core.repository import QuestionRepository
from core.steps import FAILURE_MESSAGES
from tests.workflow.conftest import Workflow

pytestmark = pytest.mark.workflow

HAPPY_PATH = ["Validate", "Retrieve", "CallOpenAI", "PersistAnswer", "PublishNotification"]


def test_a_question_is_answered_and_the_user_notified(workflow: Workflow) -> None:
    question = workflow.submit("O que é o Tesouro Selic? [happy]")
    outcome = workflow.wait(question)

    stored = outcome.question
    assert outcome.execution["status"] == "SUCCEEDED"
    assert outcome.entered() == HAPPY_PATH
    assert outcome.task_errors() == []
    assert stored.status is QuestionStatus.ANSWERED
    # The scripted model cites every entry it was given; they are the stored sources.
    retrieved = outcome.state_output("Retrieve")["retrieval"]
    cited = "".join(f" [{n}]" for n in range(1, len(retrieved["entries"]) + 1))
    assert stored.answer == f"Scripted answer to: O que é o Tesouro Selic? [happy]{cited}"
    assert [source.id for source in stored.sources] == [e["id"] for e in retrieved["entries"]]
    assert stored.sources[0].id == "tesouro-selic"
    assert stored.grounded is True and stored.kb_version == retrieved["kb_version"]
    assert stored.model == "gpt-4o-mini"
    assert stored.prompt_tokens and stored.completion_tokens
    assert stored.llm_latency_ms is not None
    assert stored.execution_arn == outcome.execution["executionArn"]
    assert stored.created_at <= stored.processing_at <= stored.answered_at  # type: ignore[operator]
    assert stored.error_code is None
    [notification] = outcome.notifications
    assert notification.status is QuestionStatus.ANSWERED
    output = json.loads(outcome.execution["output"])
    assert output["outcome"] == {"status": "answered"}
    assert "test-key" not in json.dumps(outcome.history, default=str)  # no secret in the state
    assert workflow.openai.completions_billed("[happy]") == 1


def test_rate_limited_twice_then_answered(workflow: Workflow) -> None:
    workflow.openai.script("[limited]", ["rate_limit", "rate_limit", "ok"])
    outcome = workflow.wait(workflow.submit("Quanto rende um CDB? [limited]"))

    assert outcome.question.status is QuestionStatus.ANSWERED
    assert outcome.task_errors() == ["LLMRateLimited", "LLMRateLimited"]
    assert outcome.entered() == HAPPY_PATH
    assert len(workflow.openai.calls_for("[limited]")) == 3
    assert workflow.openai.completions_billed("[limited]") == 1


def test_retries_spent_on_a_retryable_error_fail_the_question_with_it(
    workflow: Workflow,
) -> None:
    workflow.openai.script("[always-limited]", ["rate_limit"])  # every attempt
    outcome = workflow.wait(workflow.submit("Quanto rende a poupança? [always-limited]"))

    assert outcome.question.status is QuestionStatus.FAILED
    assert outcome.question.error_code == "LLMRateLimited"
    assert outcome.entered()[-2:] == ["MarkFailed", "PublishNotification"]
    attempts = len(workflow.openai.calls_for("[always-limited]"))
    assert attempts > 1 and outcome.task_errors() == ["LLMRateLimited"] * attempts
    assert workflow.openai.completions_billed("[always-limited]") == 0
    assert [n.status for n in outcome.notifications] == [QuestionStatus.FAILED]


def test_a_timeout_is_retried_then_answered(workflow: Workflow) -> None:
    workflow.openai.script("[slow]", ["slow", "ok"])
    outcome = workflow.wait(workflow.submit("What is an ETF? [slow]"))

    assert outcome.question.status is QuestionStatus.ANSWERED
    assert outcome.task_errors() == ["LLMTimeout"]
    assert outcome.question.answer == "Scripted answer to: What is an ETF? [slow]"


@pytest.mark.parametrize(
    ("outcome_name", "error"),
    [("auth", "LLMAuthError"), ("quota", "LLMQuotaExceeded")],
)
def test_fatal_model_errors_fail_the_question_without_retry(
    workflow: Workflow, outcome_name: str, error: str
) -> None:
    marker = f"[{outcome_name}]"
    workflow.openai.script(marker, [outcome_name, "ok"])
    outcome = workflow.wait(workflow.submit(f"Como funciona o FGC? {marker}"))

    stored = outcome.question
    assert stored.status is QuestionStatus.FAILED
    assert stored.error_code == error
    assert stored.error_message
    assert stored.failed_at is not None and stored.answer is None
    assert outcome.task_errors() == [error]
    assert outcome.entered() == [
        "Validate",
        "Retrieve",
        "CallOpenAI",
        "MarkFailed",
        "PublishNotification",
    ]
    assert len(workflow.openai.calls_for(marker)) == 1  # never retried
    assert outcome.execution["status"] == "SUCCEEDED"
    [notification] = outcome.notifications
    assert notification.status is QuestionStatus.FAILED


@pytest.mark.parametrize(
    ("text", "code_in_message"),
    [
        ("   \n\t  ", "empty"),
        ("Tell me about [flag-me] please", "moderation"),
        ("Bad \x00 byte", "control character"),
    ],
)
def test_an_invalid_question_is_rejected_before_the_model_is_asked(
    workflow: Workflow, text: str, code_in_message: str
) -> None:
    workflow.openai.flag("[flag-me]")
    outcome = workflow.wait(workflow.submit(text))

    stored = outcome.question
    assert stored.status is QuestionStatus.REJECTED
    assert stored.error_code == "InvalidQuestion"
    assert code_in_message in (stored.error_message or "")
    assert outcome.entered() == ["Validate", "MarkRejected", "PublishNotification"]
    assert workflow.openai.completions_billed(text) == 0
    [notification] = outcome.notifications
    assert notification.status is QuestionStatus.REJECTED


@pytest.mark.parametrize(
    ("moderation", "error", "calls"),
    [(["auth"], "LLMAuthError", 1), (["server_error"], "LLMUnavailable", 4)],
)
def test_a_validate_error_other_than_an_invalid_question_fails_the_question(
    workflow: Workflow, moderation: list[str], error: str, calls: int
) -> None:
    marker = f"[moderation-{moderation[0]}]"
    workflow.openai.script_moderation(marker, moderation)
    outcome = workflow.wait(workflow.submit(f"O que é um ETF? {marker}"))

    stored = outcome.question
    assert stored.status is QuestionStatus.FAILED
    assert stored.error_code == error
    assert outcome.entered() == ["Validate", "MarkFailed", "PublishNotification"]
    assert outcome.task_errors() == [error] * calls  # a retryable one is retried first
    assert len(workflow.openai.calls_for(marker, "/v1/moderations")) == calls
    assert workflow.openai.calls_for(marker) == []  # the model was never asked
    assert [n.status for n in outcome.notifications] == [QuestionStatus.FAILED]


def test_a_persist_answer_failure_fails_the_question_and_keeps_what_is_stored(
    workflow: Workflow,
) -> None:
    """While the model answers, the recovery sweeper gives the question up: storing the answer
    fails, MarkFailed finds it final already, and the user is told it failed, once."""
    question = workflow.store("O que é LCI? [given-up]")

    def given_up() -> None:
        QuestionRepository().transition(
            question.user_id,
            question.question_id,
            QuestionStatus.FAILED,
            error_code="WorkflowStopped",
            error_message=FAILURE_MESSAGES["WorkflowStopped"],
        )

    workflow.openai.before_answer("[given-up]", given_up)
    workflow.publish(question)
    outcome = workflow.wait(question)

    assert outcome.entered() == [*HAPPY_PATH[:4], "MarkFailed", "PublishNotification"]
    assert outcome.task_errors() == ["IllegalTransition"]
    assert outcome.execution["status"] == "SUCCEEDED"
    stored = outcome.question
    assert stored.status is QuestionStatus.FAILED
    assert stored.error_code == "WorkflowStopped" and stored.answer is None
    assert [n.status for n in outcome.notifications] == [QuestionStatus.FAILED]


def test_the_same_message_delivered_twice_runs_once(workflow: Workflow) -> None:
    question = workflow.store("Devo declarar ações no IR? [twice]")
    workflow.deliver_twice(question)
    outcome = workflow.wait(question)
    # Both deliveries handled: the queue of the subscription is empty and nothing is in flight.
    workflow.wait_delivered()

    assert len(workflow.executions_named(question.question_id)) == 1
    assert outcome.question.status is QuestionStatus.ANSWERED
    assert outcome.entered() == HAPPY_PATH
    notifications = workflow._wait_notification(question)
    assert len(notifications) == 1
    assert workflow.openai.completions_billed("[twice]") == 1


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(workflow: Workflow) -> None:
    dlq_url = workflow.sqs.get_queue_url(QueueName="toro-questions-start_workflow-dlq")["QueueUrl"]
    workflow.sns.publish(TopicArn=workflow.questions_topic_arn, Message="{not json")

    deadline = time.monotonic() + 30
    bodies: list[str] = []
    while time.monotonic() < deadline and not bodies:
        received = workflow.sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)
        bodies = [m["Body"] for m in received.get("Messages", [])]
    assert len(bodies) == 1
    assert json.loads(bodies[0])["Message"] == "{not json"
