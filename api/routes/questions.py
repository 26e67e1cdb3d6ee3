from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from api.deps import Accounts, CurrentUser, Questions
from api.errors import documented
from api.schemas import QuestionAccepted, QuestionCreate, QuestionList, QuestionPublic, ResourceId
from core.accounts import Principal
from core.errors import NotFound
from core.models import QuestionStatus

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
SessionId = Annotated[ResourceId, Path(description="A session of the caller's (from login).")]


def _check_session(accounts: Accounts, principal: Principal, session_id: str) -> None:
    if not accounts.owns_session(principal, session_id):
        raise NotFound(f"Session {session_id} does not exist.")


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=QuestionAccepted,
    responses=documented(401, 409, 429, 503),
    summary="Ask a question; it is answered asynchronously",
)
def ask(
    body: QuestionCreate,
    principal: CurrentUser,
    questions: Questions,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> QuestionAccepted:
    question = questions.submit(
        principal.user_id, principal.session_id, body.question, idempotency_key
    )
    response.headers["Location"] = f"/api/v1/questions/{question.session_id}/{question.question_id}"
    return QuestionAccepted.of(question)


@router.get(
    "/{session_id}",
    response_model=QuestionList,
    responses=documented(401, 404, 503),
    summary="The caller's questions, newest first",
)
def list_questions(
    session_id: SessionId,
    principal: CurrentUser,
    accounts: Accounts,
    questions: Questions,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    status: QuestionStatus | None = None,
) -> QuestionList:
    _check_session(accounts, principal, session_id)
    page = questions.list(principal.user_id, limit=limit, status=status, cursor=cursor)
    return QuestionList(
        items=[QuestionPublic.of(q) for q in page.items], next_cursor=page.next_cursor
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
    accounts: Accounts,
    questions: Questions,
) -> QuestionPublic:
    _check_session(accounts, principal, session_id)
    return QuestionPublic.of(questions.get(principal.user_id, question_id))
