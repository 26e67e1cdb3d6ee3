"""Domain models: the question, its lifecycle, notifications and the workflow's task payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from ulid import ULID


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A ULID: unique, and sorts by creation time, so a user's history is one Query."""
    return str(ULID())


class QuestionStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    ANSWERED = "answered"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {QuestionStatus.ANSWERED, QuestionStatus.FAILED, QuestionStatus.REJECTED}
)

# Every legal move. A final status has none: nothing moves an answer backwards or answers twice.
# The one way back is explicit: trying a failed or rejected question again
# (QuestionRepository.reset_for_retry) makes it pending for one more execution.
TRANSITIONS: dict[QuestionStatus, frozenset[QuestionStatus]] = {
    QuestionStatus.PENDING: frozenset(
        {QuestionStatus.PROCESSING, QuestionStatus.REJECTED, QuestionStatus.FAILED}
    ),
    QuestionStatus.PROCESSING: frozenset({QuestionStatus.ANSWERED, QuestionStatus.FAILED}),
    QuestionStatus.ANSWERED: frozenset(),
    QuestionStatus.FAILED: frozenset(),
    QuestionStatus.REJECTED: frozenset(),
}


def sources_of(target: QuestionStatus) -> frozenset[QuestionStatus]:
    """The statuses a question may be in for a move to ``target`` to be legal."""
    return frozenset(src for src, targets in TRANSITIONS.items() if target in targets)


Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Usage(BaseModel):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Source(BaseModel):
    """A knowledge-base entry an answer cites."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    title: str
    url: str | None = None


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


class Feedback(BaseModel):
    """What the person who asked thought of the answer: a rating, perhaps a comment."""

    model_config = ConfigDict(extra="ignore")

    rating: Rating
    comment: str | None = None
    at: datetime


class Question(BaseModel):
    """A user's question and everything that happened to it."""

    model_config = ConfigDict(extra="ignore")

    question_id: Id = Field(default_factory=new_id)
    user_id: Id
    session_id: Id
    text: str
    status: QuestionStatus = QuestionStatus.PENDING
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    processing_at: datetime | None = None
    answered_at: datetime | None = None
    failed_at: datetime | None = None
    rejected_at: datetime | None = None
    answer: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    llm_latency_ms: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    execution_arn: str | None = None
    # Set when the hand-off to the workflow failed; the recovery sweeper re-sends the question
    # (and notes when in ``resent_at``).
    dispatch_failed_at: datetime | None = None
    resent_at: datetime | None = None
    # How many times the question was tried again after failing, and the name of the execution
    # of the last try (``<question_id>-retry-<n>``; None: the first, named after the question).
    retries: int = 0
    execution_name: str | None = None

    def submitted(self) -> QuestionSubmitted:
        """The message that hands this question to the workflow."""
        return QuestionSubmitted(
            question_id=self.question_id,
            user_id=self.user_id,
            session_id=self.session_id,
            execution_name=self.execution_name,
        )

    # The knowledge-base entries the answer cites, the knowledge base's version, and whether the
    # answer is grounded in it (False: the assistant said it does not know).
    sources: list[Source] = Field(default_factory=list)
    kb_version: str | None = None
    grounded: bool | None = None
    # Served from the answer cache: the question whose answer was reused.
    from_cache: bool = False
    cached_from: str | None = None
    # The answer cache's entry made from this answer (a first question's), if any.
    cache_key: str | None = None
    # The asker's rating of the answer (answered questions only).
    feedback: Feedback | None = None


class Notification(BaseModel):
    """An in-app notice that a question reached a final status."""

    notification_id: Id = Field(default_factory=new_id)
    user_id: Id
    question_id: Id
    status: QuestionStatus
    message: str
    created_at: datetime = Field(default_factory=utc_now)
    read_at: datetime | None = None


# --- Messages and task payloads -------------------------------------------------------------


class StrictPayload(BaseModel):
    # Each function validates two or three of these payloads: their validators are built on
    # first use, not for every payload at every cold start.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class QuestionRef(StrictPayload):
    """The workflow's input: which question, whose. Small on purpose (state stays small)."""

    question_id: Id
    user_id: Id


class QuestionSubmitted(QuestionRef):
    """Published to the questions topic by the API once the pending question is stored."""

    session_id: Id | None = None
    # A retried question's execution is named ``<question_id>-retry-<n>``; None: the question id.
    execution_name: Id | None = None

    @property
    def execution(self) -> str:
        return self.execution_name or self.question_id


class ValidateTask(QuestionRef):
    execution_arn: str | None = None


class ValidationResult(StrictPayload):
    question_id: Id
    status: QuestionStatus
    chars: int
    moderated: bool


class RetrievedEntry(StrictPayload):
    id: str
    score: float


class Retrieval(StrictPayload):
    """What the Retrieve task found: entry ids and scores, never bodies (state stays small)."""

    question_id: Id
    kb_version: str
    language: Literal["pt", "en"]
    entries: list[RetrievedEntry] = Field(default_factory=list)
    # The conversation's earlier answered questions that go into the prompt, oldest first.
    turns: list[Id] = Field(default_factory=list)
    # Whether the question was searched on its own or as a follow-up of ``follows``: the earlier
    # questions (oldest first) whose words supported it.
    decision: Literal["standalone", "follow_up"] = "standalone"
    follows: list[Id] = Field(default_factory=list)


class AnswerTask(QuestionRef):
    retrieval: Retrieval


class Completion(StrictPayload):
    """What the language model answered, what it cites, and what it cost."""

    answer: str = Field(min_length=1)
    model: str
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    latency_ms: int = Field(ge=0)
    sources: list[Source] = Field(default_factory=list)
    kb_version: str | None = None
    grounded: bool = False
    from_cache: bool = False
    cached_from: Id | None = None
    # Set for a conversation's first question: where PersistAnswer stores it for reuse.
    cache_key: str | None = None


class PersistAnswerTask(QuestionRef):
    completion: Completion


class TaskError(StrictPayload):
    """The ``$.error`` a Catch leaves in the state: Step Functions' own field names."""

    Error: str
    Cause: str | None = None


class RecordFailureTask(QuestionRef):
    status: Literal[QuestionStatus.FAILED, QuestionStatus.REJECTED]
    error: TaskError


class Outcome(StrictPayload):
    question_id: Id
    status: QuestionStatus


class PublishNotificationTask(QuestionRef):
    status: QuestionStatus


class AnswerReady(QuestionRef):
    """Published to the answers topic when a question reaches a final status."""

    status: QuestionStatus
    message: str


class Published(StrictPayload):
    message_id: str


class WorkflowStarted(StrictPayload):
    question_id: Id
    execution_arn: str
    already_started: bool


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as the JSON-safe dict a handler returns."""
    return model.model_dump(mode="json")
