from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from api.deps import Conversations, CurrentUser, Questions, check_conversation, root_of
from api.errors import documented
from api.schemas import (
    FeedbackCreate,
    FeedbackPublic,
    QuestionAccepted,
    QuestionCreate,
    QuestionList,
    QuestionPublic,
    ResourceId,
)
from core.feedback import rate_answer
from core.models import Question, QuestionStatus

router = APIRouter(prefix="/questions", tags=["questions"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a request safely: the same key returns the first answer.",
    ),
]
SessionId = Annotated[
    ResourceId,
    Path(description="A conversation of the caller's (from `POST /sessions`, or a login)."),
]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]


def _location(request: Request, question: Question) -> str:
    """Where the question is read (with the stage in front on AWS)."""
    return f"{root_of(request)}/api/v1/questions/{question.session_id}/{question.question_id}"


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=QuestionAccepted,
    responses=documented(401, 404, 409, 429, 503),
    summary="Ask a question in a conversation; it is answered asynchronously",
)
def ask(
    body: QuestionCreate,
    principal: CurrentUser,
    questions: Questions,
    conversations: Conversations,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> QuestionAccepted:
    session_id = body.session_id or principal.session_id
    check_conversation(conversations, principal, session_id)
    question = questions.submit(principal.user_id, session_id, body.question, idempotency_key)
    response.headers["Location"] = _location(request, question)
    return QuestionAccepted.of(question)


@router.get(
    "",
    response_model=QuestionList,
    responses=documented(401, 503),
    summary="All the caller's questions, across conversations, newest first",
)
def list_all_questions(
    principal: CurrentUser,
    questions: Questions,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: QuestionStatus | None = None,
) -> QuestionList:
    return QuestionList.of(
        questions.list(principal.user_id, limit=limit, status=status, cursor=cursor)
    )


@router.get(
    "/{session_id}",
    response_model=QuestionList,
    responses=documented(401, 404, 503),
    summary="One conversation's questions, newest first",
)
def list_questions(
    session_id: SessionId,
    principal: CurrentUser,
    conversations: Conversations,
    questions: Questions,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: QuestionStatus | None = None,
) -> QuestionList:
    check_conversation(conversations, principal, session_id)
    return QuestionList.of(
        questions.list(
            principal.user_id, limit=limit, status=status, cursor=cursor, session_id=session_id
        )
    )


@router.get(
    "/{session_id}/{question_id}",
    response_model=QuestionPublic,
    responses=documented(401, 404, 503),
    summary="One question with its status, answer, timestamps, model and error",
)
def get_question(
    session_id: SessionId,
    question_id: Annotated[ResourceId, Path()],
    principal: CurrentUser,
    conversations: Conversations,
    questions: Questions,
) -> QuestionPublic:
    check_conversation(conversations, principal, session_id)
    return QuestionPublic.of(questions.get(principal.user_id, question_id))


@router.post(
    "/{session_id}/{question_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=QuestionAccepted,
    responses=documented(401, 404, 409, 429, 503),
    summary="Try a failed or rejected question again; it is answered asynchronously",
)
def retry(
    session_id: SessionId,
    question_id: Annotated[ResourceId, Path()],
    principal: CurrentUser,
    conversations: Conversations,
    questions: Questions,
    request: Request,
    response: Response,
) -> QuestionAccepted:
    """The same question, back to `pending`, in a new execution; `409` `not_retryable` unless it
    is `failed` or `rejected`. It counts against the same limits as asking."""
    check_conversation(conversations, principal, session_id)
    question = questions.retry(principal.user_id, question_id)
    response.headers["Location"] = _location(request, question)
    return QuestionAccepted.of(question)


@router.put(
    "/{session_id}/{question_id}/feedback",
    response_model=FeedbackPublic,
    responses=documented(401, 404, 409, 503),
    summary="Rate an answer (thumbs up or down, with an optional comment); again to change it",
)
def rate(
    session_id: SessionId,
    question_id: Annotated[ResourceId, Path()],
    body: FeedbackCreate,
    principal: CurrentUser,
    conversations: Conversations,
) -> FeedbackPublic:
    """409 `not_answered` for a question without an answer (pending, failed or rejected)."""
    check_conversation(conversations, principal, session_id)
    return FeedbackPublic.of(rate_answer(principal.user_id, question_id, body.rating, body.comment))
