"""Each Lambda handler with its sample events, against moto."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from core import clients, reset
from core.errors import (
    CompletionInProgress,
    IllegalTransition,
    InvalidEvent,
    InvalidQuestion,
    LLMRateLimited,
    ToroError,
)
from core.knowledge import get_knowledge_base
from core.models import Question, QuestionStatus
from core.repository import NotificationRepository, QuestionRepository
from core.steps import DEFAULT_FAILURE_MESSAGE, FAILURE_MESSAGES
from core.usage import TokenUsage
from handlers import (
    call_openai,
    mark_failed,
    notify_user,
    persist_answer,
    publish_notification,
    retrieve_context,
    start_workflow,
    sweep_open_questions,
    validate_question,
)
from local.lambda_gateway import LambdaContext
from local.scripted_openai import ScriptedOpenAI
from tests.conftest import EVENTS, SAMPLE_PRECONDITION, Telemetry, sample_events
from tests.integration.conftest import QUESTION_ID, SESSION_ID, USER_ID, Aws, move_to

RETRY_NAME = f"{QUESTION_ID}-retry-1"

Event = Callable[[str], dict[str, Any]]


def no_context(question_id: str) -> dict[str, Any]:
    """A Retrieve result with no entries and no earlier turns."""
    return {
        "question_id": question_id,
        "kb_version": get_knowledge_base().version,
        "language": "pt",
        "entries": [],
        "turns": [],
    }


Context = Callable[[str], LambdaContext]

HANDLERS = {
    "start_workflow": start_workflow.handler,
    "validate_question": validate_question.handler,
    "retrieve_context": retrieve_context.handler,
    "call_openai": call_openai.handler,
    "persist_answer": persist_answer.handler,
    "mark_failed": mark_failed.handler,
    "publish_notification": publish_notification.handler,
    "notify_user": notify_user.handler,
    "sweep_open_questions": sweep_open_questions.handler,
}
PRECONDITION = SAMPLE_PRECONDITION
SAMPLE_PATHS = [(handler, path) for handler in HANDLERS for path in sample_events(handler)]
SAMPLES = [pytest.param(h, path, id=f"{h}/{path.stem}") for h, path in SAMPLE_PATHS]


def test_every_handler_has_a_sample_event() -> None:
    assert {path.parent.name for _, path in SAMPLE_PATHS} == set(HANDLERS)
    assert list((EVENTS / "api").glob("*.json"))


@pytest.mark.parametrize(("handler", "path"), SAMPLES)
def test_every_sample_event_runs_through_its_handler(
    handler: str,
    path: Path,
    stored_question: Question,
    openai_server: ScriptedOpenAI,
    lambda_context: Context,
) -> None:
    if PRECONDITION[handler] is not QuestionStatus.PENDING:
        move_to(PRECONDITION[handler])
    result = HANDLERS[handler](json.loads(path.read_text()), lambda_context(handler))
    assert isinstance(result, dict)
    json.dumps(result)  # a handler's result is JSON, as Step Functions needs


def test_start_workflow_starts_one_execution_named_after_the_question(
    aws: Aws, stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    event = load_event("start_workflow/question_submitted")
    first = start_workflow.handler(event, lambda_context("start_workflow"))
    again = start_workflow.handler(event, lambda_context("start_workflow"))

    executions = aws.executions()
    assert [e["name"] for e in executions] == [QUESTION_ID]
    assert first["started"][0]["execution_arn"] == executions[0]["executionArn"]
    assert again["started"][0]["execution_arn"] == executions[0]["executionArn"]


def test_a_retried_question_starts_the_execution_named_for_its_retry(
    aws: Aws, stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    event = load_event("start_workflow/question_submitted")
    sns = event["Records"][0]["Sns"]
    sns["Message"] = json.dumps({**json.loads(sns["Message"]), "execution_name": RETRY_NAME})
    started = start_workflow.handler(event, lambda_context("start_workflow"))

    [execution] = aws.executions()
    assert execution["name"] == RETRY_NAME
    assert started["started"][0]["execution_arn"] == execution["executionArn"]
    assert json.loads(
        clients.stepfunctions().describe_execution(executionArn=execution["executionArn"])["input"]
    ) == {"question_id": QUESTION_ID, "user_id": stored_question.user_id}


def test_a_duplicate_delivery_never_reaches_step_functions(
    aws: Aws,
    stored_question: Question,
    load_event: Event,
    lambda_context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # EXPRESS executions are not deduplicated by name: the marker must stop the second start.
    starts: list[str] = []
    client = clients.stepfunctions()
    client.meta.events.register(
        "before-call.sfn.StartExecution", lambda **kwargs: starts.append("start")
    )
    event = load_event("start_workflow/question_submitted")
    start_workflow.handler(event, lambda_context("start_workflow"))
    again = start_workflow.handler(event, lambda_context("start_workflow"))
    assert starts == ["start"]
    assert again["started"][0]["already_started"] is True
    assert [e["name"] for e in aws.executions()] == [QUESTION_ID]


def test_a_failed_start_leaves_the_question_for_the_retried_delivery(
    aws: Aws,
    stored_question: Question,
    load_event: Event,
    lambda_context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = load_event("start_workflow/question_submitted")
    monkeypatch.setenv("STATE_MACHINE_ARN", aws.state_machine_arn + "-missing")
    reset.clear_caches()
    with pytest.raises(ToroError):
        start_workflow.handler(event, lambda_context("start_workflow"))
    monkeypatch.setenv("STATE_MACHINE_ARN", aws.state_machine_arn)
    reset.clear_caches()
    retried = start_workflow.handler(event, lambda_context("start_workflow"))
    assert retried["started"][0]["already_started"] is False
    assert [e["name"] for e in aws.executions()] == [QUESTION_ID]


def test_validate_moves_the_question_to_processing_once(
    stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    event = load_event("validate_question/task")
    result = validate_question.handler(event, lambda_context("validate_question"))
    retried = validate_question.handler(event, lambda_context("validate_question"))

    assert result["status"] == retried["status"] == "processing"
    assert result["moderated"] is False  # no key configured: no moderation call
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert stored.status is QuestionStatus.PROCESSING
    assert stored.execution_arn == event["execution_arn"]
    assert stored.processing_at is not None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("   \n ", "question_empty"),
        ("a" * 2001, "question_too_long"),
        ("hi\x00", "question_control_character"),
    ],
)
def test_validate_rejects_bad_questions_and_leaves_them_pending(
    aws: Aws, lambda_context: Context, text: str, code: str
) -> None:
    question = QuestionRepository().create(
        Question(user_id=USER_ID, session_id=SESSION_ID, text=text)
    )
    event = {"question_id": question.question_id, "user_id": USER_ID}
    with pytest.raises(InvalidQuestion) as raised:
        validate_question.handler(event, lambda_context("validate_question"))
    assert raised.value.code == code
    assert QuestionRepository().get(USER_ID, question.question_id).status is QuestionStatus.PENDING


def test_validate_uses_moderation_when_a_key_is_configured(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context, telemetry: Telemetry
) -> None:
    openai_server.flag("forbidden-topic")
    flagged = QuestionRepository().create(
        Question(user_id=USER_ID, session_id=SESSION_ID, text="tell me forbidden-topic")
    )
    fine = QuestionRepository().create(
        Question(user_id=USER_ID, session_id=SESSION_ID, text="O que é CDB?")
    )
    with pytest.raises(InvalidQuestion) as raised:
        validate_question.handler(
            {"question_id": flagged.question_id, "user_id": USER_ID},
            lambda_context("validate_question"),
        )
    assert raised.value.code == "question_flagged"
    assert raised.value.message == "The question was flagged by content moderation."
    telemetry.read()
    result = validate_question.handler(
        {"question_id": fine.question_id, "user_id": USER_ID}, lambda_context("validate_question")
    )
    assert result["moderated"] is True
    assert telemetry.fresh().read().metric("QuestionsValidated") == [(1.0, "Count")]
    assert len(openai_server.calls_for("forbidden-topic", "/v1/moderations")) == 1
    # A retried task finds the question processing: it was moderated once, not again.
    retried = validate_question.handler(
        {"question_id": fine.question_id, "user_id": USER_ID}, lambda_context("validate_question")
    )
    assert (retried["status"], retried["moderated"]) == ("processing", False)
    assert len(openai_server.calls_for("O que é CDB?", "/v1/moderations")) == 1


def test_call_openai_pays_for_one_completion_however_often_it_runs(
    stored_question: Question,
    openai_server: ScriptedOpenAI,
    load_event: Event,
    lambda_context: Context,
    telemetry: Telemetry,
) -> None:
    move_to(QuestionStatus.PROCESSING)
    event = load_event("call_openai/task")
    first = call_openai.handler(event, lambda_context("call_openai"))
    # What the cost and latency dashboards count, once per completion paid for.
    seen = telemetry.read()
    assert seen.metric("PromptTokens") == [(float(first["prompt_tokens"]), "Count")]
    assert seen.metric("CompletionTokens") == [(float(first["completion_tokens"]), "Count")]
    assert seen.metric("LLMLatency") == [(float(first["latency_ms"]), "Milliseconds")]
    answered = seen.log("Model answered")
    assert (answered["model"], answered["sources"], answered["turns"]) == (
        "gpt-4o-mini",
        ["tesouro-selic", "taxa-selic"],
        0,
    )
    assert (answered["prompt_tokens"], answered["completion_tokens"]) == (
        first["prompt_tokens"],
        first["completion_tokens"],
    )
    assert answered["latency_ms"] == first["latency_ms"]
    second = call_openai.handler(event, lambda_context("call_openai"))
    assert telemetry.fresh().read().metric("PromptTokens") == []

    assert first == second
    assert first["answer"] == "Scripted answer to: O que é o Tesouro Selic? [1] [2]"
    assert [source["id"] for source in first["sources"]] == ["tesouro-selic", "taxa-selic"]
    # In the question's language (the event's retrieval says pt): the sources and the context.
    assert first["sources"][1]["title"] == "Taxa Selic"
    prompt = openai_server.calls_for("Tesouro Selic")[0].messages[-1]["content"]
    assert "Taxa Selic" in prompt and "The Selic rate" not in prompt
    assert first["grounded"] is True
    assert first["kb_version"] == get_knowledge_base().version
    assert first["model"] == "gpt-4o-mini"
    assert first["prompt_tokens"] > 0
    assert openai_server.completions_billed("Tesouro Selic") == 1


def test_call_openai_tries_again_after_a_retryable_failure(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    question = QuestionRepository().create(
        Question(user_id=USER_ID, session_id=SESSION_ID, text="Como declarar FII? retry-once")
    )
    openai_server.script("retry-once", ["rate_limit", "ok"])
    event = {
        "question_id": question.question_id,
        "user_id": USER_ID,
        "retrieval": no_context(question.question_id),
    }
    with pytest.raises(LLMRateLimited):
        call_openai.handler(event, lambda_context("call_openai"))
    result = call_openai.handler(event, lambda_context("call_openai"))
    assert result["answer"].endswith("retry-once")
    assert len(openai_server.calls_for("retry-once")) == 2
    assert openai_server.completions_billed("retry-once") == 1


def test_persist_answer_stores_everything_once(
    stored_question: Question, load_event: Event, lambda_context: Context, telemetry: Telemetry
) -> None:
    move_to(QuestionStatus.PROCESSING)
    event = load_event("persist_answer/task")
    event["completion"]["cache_key"] = "c" * 64
    assert persist_answer.handler(event, lambda_context("persist_answer"))["status"] == "answered"
    first = QuestionRepository().get(USER_ID, QUESTION_ID)
    # A retried task finds the answer already stored and changes nothing.
    retried = telemetry.read().fresh()
    assert persist_answer.handler(event, lambda_context("persist_answer"))["status"] == "answered"
    assert QuestionRepository().get(USER_ID, QUESTION_ID) == first
    assert retried.read().log("Answer already stored")["level"] == "INFO"
    assert retried.metric("QuestionsAnswered") == []

    completion = event["completion"]
    assert first.answer == completion["answer"]
    assert first.model == completion["model"]
    assert [source.id for source in first.sources] == ["tesouro-selic"]
    assert first.grounded is True and first.kb_version == completion["kb_version"]
    assert (first.prompt_tokens, first.completion_tokens) == (412, 58)
    assert first.llm_latency_ms == 1430
    assert first.answered_at is not None and first.processing_at is not None
    assert first.cache_key == "c" * 64  # where its answer is cached, deleted with the account
    # Its tokens count towards the day's budgets, once however often the task ran.
    assert TokenUsage().spent(USER_ID) == (412 + 58, 412 + 58)


def test_the_answer_stands_when_its_tokens_or_its_cache_entry_cannot_be_written(
    stored_question: Question, load_event: Event, lambda_context: Context, telemetry: Telemetry
) -> None:
    """DynamoDB refuses the usage counters and the cache entry (not the question)."""

    def refuse(params: dict[str, Any], **_: Any) -> None:
        key = params.get("Key") or params.get("Item") or {}
        if any(part in json.dumps(key) for part in ("USAGE#", "CACHE#")):
            raise ClientError(
                {"Error": {"Code": "ValidationException", "Message": "refused for the test"}},
                "UpdateItem",
            )

    move_to(QuestionStatus.PROCESSING)
    clients.dynamodb().meta.events.register("before-parameter-build.dynamodb.UpdateItem", refuse)
    clients.dynamodb().meta.events.register("before-parameter-build.dynamodb.PutItem", refuse)
    event = load_event("persist_answer/task")
    event["completion"]["cache_key"] = "c" * 64
    assert persist_answer.handler(event, lambda_context("persist_answer"))["status"] == "answered"

    assert QuestionRepository().get(USER_ID, QUESTION_ID).answer == event["completion"]["answer"]
    seen = telemetry.read()
    assert seen.metric("TokenUsageNotCounted") == [(1.0, "Count")]
    assert seen.metric("QuestionsAnswered") == [(1.0, "Count")]
    assert "refused for the test" in seen.log("The answer's tokens could not be counted")["error"]
    assert "refused for the test" in seen.log("The answer could not be cached")["error"]


def test_a_reused_answer_costs_no_tokens(
    stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    move_to(QuestionStatus.PROCESSING)
    event = load_event("persist_answer/task")
    event["completion"] |= {
        "from_cache": True,
        "cached_from": "01JDXQ3M7T4W5Y8Z9A0B1C2D3F",
        "cache_key": "c" * 64,
    }
    assert persist_answer.handler(event, lambda_context("persist_answer"))["status"] == "answered"
    assert TokenUsage().spent(USER_ID) == (0, 0)
    # The cache entry is the first asker's: deleting this account must not delete it.
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert (stored.from_cache, stored.cache_key) == (True, None)


def test_persist_answer_refuses_a_question_that_was_never_processed(
    stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    with pytest.raises(IllegalTransition) as raised:
        persist_answer.handler(load_event("persist_answer/task"), lambda_context("persist_answer"))
    assert raised.value.current == "pending"


def test_conditional_writes_refuse_a_second_answer(stored_question: Question) -> None:
    repository = QuestionRepository()
    repository.transition(USER_ID, QUESTION_ID, QuestionStatus.PROCESSING)
    repository.transition(USER_ID, QUESTION_ID, QuestionStatus.ANSWERED, answer="first")
    with pytest.raises(IllegalTransition) as raised:
        repository.transition(USER_ID, QUESTION_ID, QuestionStatus.ANSWERED, answer="second")
    assert raised.value.current == "answered"
    assert raised.value.message == f"Question {QUESTION_ID} is answered; it cannot become answered."
    with pytest.raises(IllegalTransition):
        repository.transition(USER_ID, QUESTION_ID, QuestionStatus.FAILED, error_code="late")
    stored = repository.get(USER_ID, QUESTION_ID)
    assert (stored.status, stored.answer, stored.error_code) == ("answered", "first", None)


def test_mark_failed_records_the_caught_error(
    stored_question: Question, load_event: Event, lambda_context: Context, telemetry: Telemetry
) -> None:
    move_to(QuestionStatus.PROCESSING)
    result = mark_failed.handler(load_event("mark_failed/failed"), lambda_context("mark_failed"))
    assert result["status"] == "failed"
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert stored.error_code == "LLMQuotaExceeded"
    # The user is told in fixed words; the provider's own text (billing, keys) stays in the logs.
    assert stored.error_message == FAILURE_MESSAGES["LLMQuotaExceeded"]
    cause = load_event("mark_failed/failed")["error"]["Cause"]
    assert "quota" in cause and cause not in stored.error_message
    assert stored.failed_at is not None
    seen = telemetry.read()
    why = seen.log("Why the question failed")
    assert why["error_code"] == "LLMQuotaExceeded" and "quota" in why["detail"]
    failed = seen.log("Question not answered")
    assert (failed["error_code"], failed["status"]) == ("LLMQuotaExceeded", "failed")
    assert seen.metric("QuestionsFailed") == [(1.0, "Count")]
    assert seen.metric("QuestionsRejected") == []


def test_an_error_without_fixed_words_gives_the_default_message(
    stored_question: Question, load_event: Event, lambda_context: Context, telemetry: Telemetry
) -> None:
    move_to(QuestionStatus.PROCESSING)
    event = load_event("mark_failed/failed")
    event["error"] = {"Error": "States.Runtime", "Cause": "arn:aws:states:... internal detail"}
    mark_failed.handler(event, lambda_context("mark_failed"))
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert (stored.error_code, stored.error_message) == ("States.Runtime", DEFAULT_FAILURE_MESSAGE)
    # A Cause that is not Lambda's error JSON is the detail, as it came.
    why = telemetry.read().log("Why the question failed")
    assert why["detail"] == "arn:aws:states:... internal detail"


def test_an_error_without_a_cause_is_described_by_its_name(
    stored_question: Question, load_event: Event, lambda_context: Context, telemetry: Telemetry
) -> None:
    move_to(QuestionStatus.PROCESSING)
    event = load_event("mark_failed/failed")
    event["error"] = {"Error": "States.Timeout"}
    assert mark_failed.handler(event, lambda_context("mark_failed"))["status"] == "failed"
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert (stored.error_code, stored.error_message) == (
        "States.Timeout",
        FAILURE_MESSAGES["States.Timeout"],
    )
    assert telemetry.read().log("Why the question failed")["detail"] == "States.Timeout"


def test_mark_rejected_records_why_and_never_overwrites_a_final_status(
    stored_question: Question, load_event: Event, lambda_context: Context, telemetry: Telemetry
) -> None:
    event = load_event("mark_failed/rejected")
    assert mark_failed.handler(event, lambda_context("mark_failed"))["status"] == "rejected"
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert (stored.error_code, stored.error_message) == (
        "InvalidQuestion",
        "The question is empty.",
    )
    seen = telemetry.read()
    assert seen.metric("QuestionsRejected") == [(1.0, "Count")]
    assert seen.metric("QuestionsFailed") == []
    assert not [log for log in seen.logs if log["message"] == "Why the question failed"]
    # Delivered again, or a later failure: the final status stands.
    again = mark_failed.handler(load_event("mark_failed/failed"), lambda_context("mark_failed"))
    assert again["status"] == "rejected"
    assert QuestionRepository().get(USER_ID, QUESTION_ID) == stored
    final = telemetry.fresh().read()
    assert final.log("Question already final")["current_status"] == "rejected"
    assert final.metric("QuestionsFailed") == []


def test_publish_notification_tells_the_answers_topic_with_attributes(
    aws: Aws,
    stored_question: Question,
    load_event: Event,
    lambda_context: Context,
    telemetry: Telemetry,
) -> None:
    result = publish_notification.handler(
        load_event("publish_notification/answered"), lambda_context("publish_notification")
    )
    [notification] = aws.published(aws.answers_queue_url)
    assert notification["MessageId"] == result["message_id"]
    message = json.loads(notification["Message"])
    assert message["question_id"] == QUESTION_ID
    assert message["message"] == "Your question has been answered."
    assert notification["MessageAttributes"]["user_id"]["Value"] == USER_ID
    assert notification["MessageAttributes"]["status"]["Value"] == "answered"
    assert telemetry.read().metric("NotificationsPublished") == [(1.0, "Count")]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("failed", "We could not answer your question. Please try again later."),
        ("rejected", "Your question could not be accepted as written."),
        ("processing", "Your question is processing."),
    ],
)
def test_each_outcome_is_told_in_its_own_words(
    aws: Aws, stored_question: Question, lambda_context: Context, status: str, words: str
) -> None:
    task = {"question_id": QUESTION_ID, "user_id": USER_ID, "status": status}
    publish_notification.handler(task, lambda_context("publish_notification"))
    [notification] = aws.published(aws.answers_queue_url)
    assert json.loads(notification["Message"])["message"] == words


def test_notify_user_stores_one_notification_per_question(
    aws: Aws, load_event: Event, lambda_context: Context
) -> None:
    event = load_event("notify_user/answer_ready")
    notify_user.handler(event, lambda_context("notify_user"))
    notify_user.handler(event, lambda_context("notify_user"))  # SNS delivers at least once
    [notification] = NotificationRepository().list_for_user(USER_ID)
    assert notification.question_id == QUESTION_ID
    assert notification.status is QuestionStatus.ANSWERED
    assert notification.read_at is None


@pytest.mark.parametrize(
    ("handler", "event", "mentions"),
    [
        ("persist_answer", {"question_id": QUESTION_ID, "user_id": USER_ID}, "completion"),
        ("validate_question", {"user_id": USER_ID}, "question_id"),
        (
            "validate_question",
            {"user_id": 7},
            "Bad ValidateTask payload: question_id: Field required; user_id: Input should be",
        ),
        (
            "mark_failed",
            {"question_id": QUESTION_ID, "user_id": USER_ID, "status": "odd"},
            "status",
        ),
        ("start_workflow", {"Records": [{"Sns": {"Message": "not json"}}]}, "SNS"),
        ("start_workflow", ["not", "an", "object"], "SNS"),
        ("start_workflow", {"Records": [{"Sns": {}}]}, "every record needs Sns.Message"),
        ("notify_user", {"unexpected": True}, "SNS"),
        ("call_openai", ["not", "an", "object"], "JSON object"),
    ],
)
def test_a_bad_event_gives_a_clear_error(
    aws: Aws, lambda_context: Context, handler: str, event: Any, mentions: str
) -> None:
    with pytest.raises(InvalidEvent) as raised:
        HANDLERS[handler](event, lambda_context(handler))
    assert mentions in raised.value.message


def test_a_redelivered_notification_leaves_the_stored_one_untouched(
    aws: Aws, stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    move_to(QuestionStatus.ANSWERED)
    event = load_event("notify_user/answer_ready")
    notify_user.handler(event, lambda_context("notify_user"))
    repository = NotificationRepository()
    [first] = repository.list_for_user(USER_ID)
    read = repository.mark_read(USER_ID, first.notification_id)
    assert read.read_at is not None

    # SNS delivers at least once: the same message again, after the user read it.
    again = notify_user.handler(event, lambda_context("notify_user"))
    [stored] = repository.list_for_user(USER_ID)
    assert stored.read_at == read.read_at  # still read
    assert stored.created_at == first.created_at
    assert again["notifications"][0]["read_at"] is not None


def test_open_status_follows_the_question_until_it_is_final(
    aws: Aws, stored_question: Question
) -> None:
    """The open-questions index (the sweeper's) holds a question exactly while it is open."""
    table = boto3.client("dynamodb")
    key = {"pk": {"S": f"USER#{USER_ID}"}, "sk": {"S": f"Q#{QUESTION_ID}"}}

    def open_status() -> str | None:
        item = table.get_item(TableName="toro-assistant", Key=key)["Item"]
        return item["open_status"]["S"] if "open_status" in item else None

    assert open_status() == "pending"
    move_to(QuestionStatus.PROCESSING)
    assert open_status() == "processing"
    QuestionRepository().transition(USER_ID, QUESTION_ID, QuestionStatus.FAILED)
    assert open_status() is None


def test_a_duplicate_delivery_is_counted(
    aws: Aws,
    stored_question: Question,
    load_event: Event,
    lambda_context: Context,
    telemetry: Telemetry,
) -> None:
    event = load_event("start_workflow/question_submitted")
    start_workflow.handler(event, lambda_context("start_workflow"))
    first = telemetry.read()
    assert first.metric("WorkflowsStarted") == [(1.0, "Count")]
    assert first.log("Workflow started")["execution_arn"].endswith(f":{QUESTION_ID}")

    again = telemetry.fresh()
    start_workflow.handler(event, lambda_context("start_workflow"))
    again.read()
    assert again.metric("DuplicateDeliveries") == [(1.0, "Count")]
    assert again.metric("WorkflowsStarted") == []
    assert again.log("Workflow already started")["execution_arn"].endswith(f":{QUESTION_ID}")


def test_two_call_openai_at_once_pay_for_one_completion(
    aws: Aws,
    openai_server: ScriptedOpenAI,
    lambda_context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A retried task overlapping the first attempt: the second waits for the first's answer."""
    monkeypatch.setenv("OPENAI_TIMEOUT_SECONDS", "10")  # the scripted answer takes 1.5 s
    reset.clear_caches()
    question = QuestionRepository().create(
        Question(user_id=USER_ID, session_id=SESSION_ID, text="O que é um FII? [at-once]")
    )
    openai_server.script("[at-once]", ["slow"])
    event = {
        "question_id": question.question_id,
        "user_id": USER_ID,
        "retrieval": no_context(question.question_id),
    }
    results: list[dict[str, Any]] = []
    first = threading.Thread(
        target=lambda: results.append(call_openai.handler(event, lambda_context("call_openai")))
    )
    first.start()
    deadline = time.monotonic() + 5
    while not openai_server.calls_for("[at-once]"):  # the first is waiting on the model
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(CompletionInProgress) as raised:  # retried by the workflow's Retry
        call_openai.handler(event, lambda_context("call_openai"))
    assert raised.value.message == (
        f"A completion for question {question.question_id} is already in progress."
    )
    # The lock lasts no longer than the invocation holding it could (30 s here): a function
    # that died mid-call leaves a question the workflow's retries can still answer.
    [record] = clients.dynamodb().query(
        TableName="toro-assistant",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "IDEMPOTENCY#call_openai"}},
    )["Items"]
    assert record["status"]["S"] == "INPROGRESS"
    lock_ms = int(record["in_progress_expiration"]["N"]) - time.time() * 1000
    assert 20_000 < lock_ms <= 30_000
    first.join(timeout=10)
    again = call_openai.handler(event, lambda_context("call_openai"))
    assert again == results[0]
    assert openai_server.completions_billed("[at-once]") == 1


def test_an_answered_question_never_goes_back_to_processing(
    stored_question: Question, load_event: Event, lambda_context: Context
) -> None:
    move_to(QuestionStatus.ANSWERED)
    with pytest.raises(IllegalTransition):
        validate_question.handler(load_event("validate_question/task"), lambda_context("v"))
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert stored.status is QuestionStatus.ANSWERED and stored.answer == "x"
