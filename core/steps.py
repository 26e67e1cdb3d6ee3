"""What each step of the question workflow does; handlers parse an event and call one of these."""

from __future__ import annotations

import json
import sys
from types import ModuleType

from core import clients, settings
from core.cache import AnswerCache
from core.errors import IllegalTransition, InvalidQuestion, ToroError
from core.messaging import Publisher
from core.models import (
    AnswerReady,
    Completion,
    Notification,
    Outcome,
    PersistAnswerTask,
    Published,
    PublishNotificationTask,
    QuestionStatus,
    QuestionSubmitted,
    RecordFailureTask,
    ValidateTask,
    ValidationResult,
    WorkflowStarted,
)
from core.observability import MetricUnit, logger, metrics
from core.push import push_question, push_question_by_id
from core.repository import NotificationRepository, QuestionRepository
from core.settings import get_llm_settings, get_settings
from core.usage import TokenUsage
from core.validation import clean_question
from core.workflow import WorkflowStarter, execution_arn_for

_MAX_ERROR_MESSAGE = 1000


def _llm() -> ModuleType:
    """The model client's module, imported on first use: it brings the OpenAI SDK, which only
    the functions that call the model (and moderation) should pay for at cold start."""
    from core import llm

    return llm


def start_question_workflow(ref: QuestionSubmitted) -> WorkflowStarted:
    """Start the question's workflow once, whatever the number of deliveries: a conditional
    marker on the question first (EXPRESS executions are not deduplicated by name), then the
    execution; if that fails, the marker goes, and the delivery's retry starts it."""
    repository = QuestionRepository()
    if not repository.claim_start(ref.user_id, ref.question_id):
        started = WorkflowStarted(
            question_id=ref.question_id,
            execution_arn=execution_arn_for(get_settings().state_machine_arn, ref.execution),
            already_started=True,
        )
    else:
        try:
            started = WorkflowStarter().start(ref, ref.execution)
        except ToroError:
            repository.release_start(ref.user_id, ref.question_id)
            raise
    if started.already_started:
        logger.info("Workflow already started", extra={"execution_arn": started.execution_arn})
        metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
    else:
        logger.info("Workflow started", extra={"execution_arn": started.execution_arn})
        metrics.add_metric(name="WorkflowsStarted", unit=MetricUnit.Count, value=1)
    return started


def validate_question(task: ValidateTask) -> ValidationResult:
    """Check the stored question and move it to processing; InvalidQuestion when it fails."""
    ref = task
    repository = QuestionRepository()
    question = repository.get(ref.user_id, ref.question_id)
    if question.status is QuestionStatus.PROCESSING:
        # A retried task: the first attempt already validated it.
        return ValidationResult(
            question_id=question.question_id,
            status=question.status,
            chars=len(question.text),
            moderated=False,
        )
    text = clean_question(question.text, max_chars=get_settings().question_max_chars)
    moderated = get_llm_settings().moderation_enabled
    if moderated and _llm().get_llm_client().is_flagged(text):
        raise InvalidQuestion(
            "The question was flagged by content moderation.", code="question_flagged"
        )
    updated = repository.transition(
        ref.user_id, ref.question_id, QuestionStatus.PROCESSING, execution_arn=task.execution_arn
    )
    metrics.add_metric(name="QuestionsValidated", unit=MetricUnit.Count, value=1)
    push_question(updated)
    return ValidationResult(
        question_id=updated.question_id, status=updated.status, chars=len(text), moderated=moderated
    )


def persist_answer(task: PersistAnswerTask) -> Outcome:
    repository = QuestionRepository()
    completion = task.completion
    try:
        question = repository.transition(
            task.user_id,
            task.question_id,
            QuestionStatus.ANSWERED,
            answer=completion.answer,
            model=completion.model,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            llm_latency_ms=completion.latency_ms,
            sources=[source.model_dump() for source in completion.sources],
            kb_version=completion.kb_version,
            grounded=completion.grounded,
            from_cache=completion.from_cache,
            cached_from=completion.cached_from,
            # Where its answer is cached, if it is: deleting the account deletes that too.
            cache_key=None if completion.from_cache else completion.cache_key,
        )
    except IllegalTransition as exc:
        if exc.current != QuestionStatus.ANSWERED:
            raise
        # A retried task whose first attempt stored the answer: nothing more to do.
        logger.info("Answer already stored")
        return Outcome(question_id=task.question_id, status=QuestionStatus.ANSWERED)
    metrics.add_metric(name="QuestionsAnswered", unit=MetricUnit.Count, value=1)
    if not completion.from_cache:  # a reused answer cost no tokens and is stored already
        _count_tokens(task.user_id, completion)
        if completion.cache_key:
            _remember(completion.cache_key, question.question_id, completion)
    return Outcome(question_id=question.question_id, status=question.status)


def _count_tokens(user_id: str, completion: Completion) -> None:
    """Count the answer's tokens towards the daily budgets; the answer stands if this fails."""
    tokens = completion.prompt_tokens + completion.completion_tokens
    try:
        TokenUsage().add(user_id, tokens)
    except ToroError as exc:
        metrics.add_metric(name="TokenUsageNotCounted", unit=MetricUnit.Count, value=1)
        logger.warning("The answer's tokens could not be counted", extra={"error": str(exc)})


def _remember(key: str, question_id: str, completion: Completion) -> None:
    """Store a first question's answer for reuse; the answer stands even if this fails."""
    try:
        AnswerCache().put(key, question_id, completion)
    except ToroError as exc:
        logger.warning("The answer could not be cached", extra={"error": str(exc)})


# What a user is told for each failure: fixed words, never the provider's or AWS's own text
# (billing and key messages, endpoints, ARNs); the detail goes to the logs only.
FAILURE_MESSAGES = {
    "LLMRateLimited": "The assistant's model was too busy to answer. Please ask again.",
    "LLMTimeout": "The assistant's model took too long to answer. Please ask again.",
    "LLMUnavailable": "The assistant's model could not be reached. Please ask again later.",
    "CompletionInProgress": "The answer took too long to arrive. Please ask again.",
    "LLMAuthError": "The assistant cannot reach its model right now. The team has been alerted.",
    "LLMQuotaExceeded": "The assistant has reached its usage limit for now. Please ask later.",
    "LLMBadRequest": "The assistant's model could not answer this question.",
    "DependencyUnavailable": "A service the assistant needs was unavailable. Please ask again.",
    "States.Timeout": "Answering took too long. Please ask again.",
    # Recorded by the recovery sweeper when an execution ended without its Catch, or was lost.
    "WorkflowStopped": "Answering was interrupted. Please ask again.",
}
DEFAULT_FAILURE_MESSAGE = "The question could not be answered. Please ask again later."
# Errors whose messages are the project's own words about the question, safe to show.
_OWN_WORDS = frozenset({"InvalidQuestion"})


def record_failure(task: RecordFailureTask) -> Outcome:
    """Mark the question failed or rejected with the error the workflow caught."""
    code, detail = _describe(task.error.Error, task.error.Cause)
    message = detail if code in _OWN_WORDS else FAILURE_MESSAGES.get(code, DEFAULT_FAILURE_MESSAGE)
    if message != detail:
        logger.warning("Why the question failed", extra={"error_code": code, "detail": detail})
    repository = QuestionRepository()
    try:
        question = repository.transition(
            task.user_id, task.question_id, task.status, error_code=code, error_message=message
        )
    except IllegalTransition as exc:
        # Already final: a retried task, or an answer that won a race. Never overwrite it.
        current = QuestionStatus(exc.current) if exc.current else task.status
        logger.warning("Question already final", extra={"current_status": current.value})
        return Outcome(question_id=task.question_id, status=current)
    metric = "QuestionsRejected" if task.status is QuestionStatus.REJECTED else "QuestionsFailed"
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.warning("Question not answered", extra={"error_code": code, "status": task.status})
    return Outcome(question_id=question.question_id, status=question.status)


def _describe(error: str, cause: str | None) -> tuple[str, str]:
    """(code, message) from a caught error: Lambda puts its error JSON in Cause."""
    message = cause or error
    if cause:
        try:
            parsed = json.loads(cause)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("errorMessage"):
            message = str(parsed["errorMessage"])
    return error, message[:_MAX_ERROR_MESSAGE]


_MESSAGES = {
    QuestionStatus.ANSWERED: "Your question has been answered.",
    QuestionStatus.FAILED: "We could not answer your question. Please try again later.",
    QuestionStatus.REJECTED: "Your question could not be accepted as written.",
}


def publish_outcome(task: PublishNotificationTask) -> Published:
    message = AnswerReady(
        question_id=task.question_id,
        user_id=task.user_id,
        status=task.status,
        message=_MESSAGES.get(task.status, f"Your question is {task.status.value}."),
    )
    message_id = Publisher().answer_ready(message)
    metrics.add_metric(name="NotificationsPublished", unit=MetricUnit.Count, value=1)
    return Published(message_id=message_id)


def record_notification(message: AnswerReady) -> Notification:
    """Store the in-app notification the user sees next time they look (once per question)."""
    notification = NotificationRepository().add(
        Notification(
            notification_id=message.question_id,
            user_id=message.user_id,
            question_id=message.question_id,
            status=message.status,
            message=message.message,
        )
    )
    metrics.add_metric(name="UsersNotified", unit=MetricUnit.Count, value=1)
    # And live, with the answer, to the user's open connections (best effort).
    push_question_by_id(message.user_id, message.question_id)
    logger.info(
        "User notified",
        extra={"notification_id": notification.notification_id, "status": message.status},
    )
    return notification


def clear_caches() -> None:
    """Forget every client, setting and wrapper built so far (tests change the environment)."""
    llm = sys.modules.get("core.llm")  # only where it was imported
    if llm is not None:
        llm.forget_clients()
    clients.clear_caches()
    settings.clear_caches()
