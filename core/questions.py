"""Submitting and reading questions: what the API does on behalf of a user."""

from __future__ import annotations

import time
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from core.conversations import ConversationRepository
from core.errors import (
    DependencyError,
    DependencyUnavailable,
    IdempotencyConflict,
    IdempotencyInProgress,
    PublishFailed,
)
from core.idempotency import persistence_layer
from core.messaging import Publisher
from core.models import Question, QuestionStatus
from core.observability import MetricUnit, logger, metrics
from core.pagination import Page
from core.rate_limit import RateLimiter
from core.repository import QuestionRepository
from core.settings import get_api_settings, get_settings
from core.usage import TokenBudget
from core.validation import clean_question

# Set by the idempotent create when it really ran (a replay returns the stored result instead).
_created_now: ContextVar[bool] = ContextVar("created_now", default=False)


class QuestionService:
    def __init__(
        self,
        repository: QuestionRepository | None = None,
        publisher: Publisher | None = None,
        limiter: RateLimiter | None = None,
        conversations: ConversationRepository | None = None,
        budget: TokenBudget | None = None,
    ) -> None:
        self._repository = repository or QuestionRepository()
        self._publisher = publisher or Publisher()
        self._limiter = limiter or RateLimiter()
        self._conversations = conversations or ConversationRepository()
        self._budget = budget or TokenBudget()

    def submit(
        self, user_id: str, session_id: str, text: str, idempotency_key: str | None = None
    ) -> Question:
        """Store the question as pending, then hand it to the workflow.

        With an Idempotency-Key, a repeat of the same request returns the first question and
        creates nothing; a repeat after a failed hand-off tries the hand-off again.
        """
        cleaned = clean_question(text, max_chars=get_settings().question_max_chars)
        if idempotency_key is None:
            question = self._create(user_id, session_id, cleaned)
            self._dispatch(question)
            return question
        _created_now.set(False)
        request = {"user_id": user_id, "key": idempotency_key, "session_id": session_id}
        try:
            stored: dict[str, Any] = _idempotent_create()(request={**request, "text": cleaned})
        except IdempotencyValidationError as exc:
            raise IdempotencyConflict(
                "This Idempotency-Key was already used with a different question."
            ) from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise IdempotencyInProgress(
                "A request with this Idempotency-Key is still being processed."
            ) from exc
        question = Question.model_validate(stored)
        if _created_now.get():
            self._dispatch(question)
            return question
        current = self._repository.get(user_id, question.question_id)
        if current.status is QuestionStatus.PENDING and current.dispatch_failed_at is not None:
            self._dispatch(current)
            self._repository.clear_dispatch_failed(user_id, current.question_id)
        return question

    def _create(self, user_id: str, session_id: str, text: str) -> Question:
        self._budget.check(user_id)
        self._limiter.hit(
            user_id, "questions", limit=get_api_settings().rate_limit_questions_per_minute
        )
        question = self._repository.create(
            Question(user_id=user_id, session_id=session_id, text=text)
        )
        self._record_in_conversation(question)
        metrics.add_metric(name="QuestionsSubmitted", unit=MetricUnit.Count, value=1)
        return question

    def _record_in_conversation(self, question: Question) -> None:
        """The conversation's title, activity and count: kept up to date, but a failure to
        update them never fails (or loses) the question that is already stored."""
        try:
            self._conversations.touch(question)
        except (DependencyUnavailable, DependencyError) as exc:
            logger.warning(
                "The conversation could not be updated",
                extra={"question_id": question.question_id, "error": str(exc)},
            )

    def _dispatch(self, question: Question) -> None:
        """Publish to the questions topic, briefly retrying; PublishFailed if it will not go."""
        message = question.submitted()
        attempts = get_api_settings().publish_attempts
        for attempt in range(1, attempts + 1):
            try:
                self._publisher.question_submitted(message)
                return
            except (DependencyUnavailable, DependencyError) as exc:
                logger.warning(
                    "Publishing the question failed",
                    extra={
                        "attempt": attempt,
                        "question_id": question.question_id,
                        "error": str(exc),
                    },
                )
                if attempt < attempts:
                    time.sleep(0.05 * 2**attempt)
        self._repository.mark_dispatch_failed(question.user_id, question.question_id)
        metrics.add_metric(name="QuestionDispatchFailures", unit=MetricUnit.Count, value=1)
        raise PublishFailed(
            f"Question {question.question_id} is saved but could not be queued for an answer; "
            "it will be sent automatically. Retrying with the same Idempotency-Key sends it now."
        )

    def retry(self, user_id: str, question_id: str) -> Question:
        """Try a failed or rejected question again: the same question, back to pending, in a
        new execution (``<question_id>-retry-<n>``). Counts against the same limits as asking."""
        self._budget.check(user_id)
        self._limiter.hit(
            user_id, "questions", limit=get_api_settings().rate_limit_questions_per_minute
        )
        return self.resend(self._repository.reset_for_retry(user_id, question_id))

    def resend(self, question: Question) -> Question:
        """Hand a pending question to the workflow (again), in its own execution's name."""
        self._dispatch(question)
        return question

    def list(
        self,
        user_id: str,
        *,
        limit: int,
        status: QuestionStatus | None = None,
        cursor: str | None = None,
        session_id: str | None = None,
    ) -> Page[Question]:
        """The user's questions, or one conversation's with ``session_id``; newest first."""
        return self._repository.list_for_user(
            user_id, limit=limit, status=status, cursor=cursor, session_id=session_id
        )

    def get(self, user_id: str, question_id: str) -> Question:
        return self._repository.get(user_id, question_id)


def _create_once(request: dict[str, Any]) -> dict[str, Any]:
    question = QuestionService()._create(request["user_id"], request["session_id"], request["text"])
    _created_now.set(True)
    return question.model_dump(mode="json")


class RequestBudget:
    """Time a request may take, for a process that is not a Lambda invocation."""

    def __init__(self, milliseconds: int) -> None:
        self._milliseconds = milliseconds

    def get_remaining_time_in_millis(self) -> int:
        return self._milliseconds


# Outside Lambda, an interrupted request's in-progress record expires after this long.
DEFAULT_REQUEST_BUDGET = RequestBudget(30_000)


@lru_cache
def _idempotency_config() -> IdempotencyConfig:
    config = IdempotencyConfig(
        event_key_jmespath="[user_id, key]",
        payload_validation_jmespath="text",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
    )
    config.register_lambda_context(DEFAULT_REQUEST_BUDGET)  # type: ignore[arg-type]
    return config


def register_lambda_context(context: Any) -> None:
    """Bound the in-progress lock of an Idempotency-Key by the invocation's remaining time."""
    _idempotency_config().register_lambda_context(context)


@lru_cache
def _idempotent_create() -> Any:
    return idempotent_function(
        _create_once,
        data_keyword_argument="request",
        persistence_store=persistence_layer("submit_question"),
        config=_idempotency_config(),
    )


def clear_caches() -> None:
    _idempotency_config.cache_clear()
    _idempotent_create.cache_clear()
