"""One exception hierarchy for the whole system.

Step Functions matches a failed Lambda task by the ``errorType`` the runtime reports, which is the
class name of the exception a handler raised. The ASL therefore lists these class names: a rename
here is a rename there (``tests/unit/test_asl.py`` checks that every name the ASL uses exists).
"""

from __future__ import annotations


class ToroError(Exception):
    """Base of every error the system raises on purpose."""

    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotAnswered(ToroError):
    """Something only an answered question can have (feedback) was given to another."""

    code = "not_answered"


class NotRetryable(ToroError):
    """Only a failed or rejected question can be tried again."""

    code = "not_retryable"


class QuestionsStillOpen(ToroError):
    """The account cannot be deleted while one of its questions is being answered."""

    code = "questions_open"


class InvalidEvent(ToroError):
    """An event or task payload does not have the shape the handler expects."""

    code = "invalid_event"


class InvalidQuestion(ToroError):
    """The question text cannot be answered as written (empty, too long, flagged...)."""

    code = "invalid_question"


class NotFound(ToroError):
    """The thing does not exist, or is not the caller's (the two are never told apart)."""

    code = "not_found"


class QuestionNotFound(NotFound):
    code = "question_not_found"


class AuthenticationFailed(ToroError):
    """Missing, malformed, expired or tampered credentials or tokens."""

    code = "unauthorized"


class UsernameTaken(ToroError):
    code = "username_taken"


class RateLimited(ToroError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class ServerBusy(ToroError):
    """This process is at its bound for an expensive operation (password hashing) right now."""

    code = "server_busy"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyConflict(ToroError):
    """An Idempotency-Key reused with a different request."""

    code = "idempotency_key_reused"


class IdempotencyInProgress(IdempotencyConflict):
    """An Idempotency-Key reused while its first request is still running."""

    code = "idempotency_in_progress"


class PublishFailed(ToroError):
    """The question is stored but could not be handed to the workflow; it will be re-sent."""

    code = "publish_failed"


class InvalidCursor(ToroError):
    code = "invalid_cursor"


class WeakPassword(ToroError):
    """A new password that is too short, blank, or too easy to guess."""

    code = "weak_password"


class IllegalTransition(ToroError):
    """A lifecycle change the current status does not allow (a duplicate or a race lost)."""

    code = "illegal_transition"

    def __init__(self, message: str, *, current: str | None = None) -> None:
        super().__init__(message)
        self.current = current


class LLMError(ToroError):
    """Base for every failure talking to the language model."""

    code = "llm_error"


class RetryableLLMError(LLMError):
    """Worth trying again later: the workflow's Retry policy lists these class names."""


class LLMRateLimited(RetryableLLMError):
    code = "llm_rate_limited"


class LLMTimeout(RetryableLLMError):
    code = "llm_timeout"


class LLMUnavailable(RetryableLLMError):
    code = "llm_unavailable"


class CompletionInProgress(RetryableLLMError):
    """Another invocation is computing the completion for the same question right now."""

    code = "completion_in_progress"


class FatalLLMError(LLMError):
    """Trying again cannot help: the workflow fails the question at once."""


class LLMAuthError(FatalLLMError):
    code = "llm_auth_error"


class LLMQuotaExceeded(FatalLLMError):
    code = "llm_quota_exceeded"


class LLMBadRequest(FatalLLMError):
    code = "llm_bad_request"


RETRYABLE_LLM_ERRORS: tuple[type[RetryableLLMError], ...] = (
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    CompletionInProgress,
)
FATAL_LLM_ERRORS: tuple[type[FatalLLMError], ...] = (LLMAuthError, LLMQuotaExceeded, LLMBadRequest)


class DependencyUnavailable(ToroError):
    """An AWS service failed in a way worth retrying (throttling, 5xx, connection)."""

    code = "dependency_unavailable"


class DependencyError(ToroError):
    """An AWS service refused the call for good (permissions, missing resource, bad request)."""

    code = "dependency_error"
