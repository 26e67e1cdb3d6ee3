"""The caller's rights over their data (LGPD): a copy of all of it, and deleting the account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from api.deps import Accounts, CurrentUser
from api.errors import documented
from api.routes.auth import REFRESH_COOKIE, cookie_options
from api.schemas import AccountDeletion
from core.privacy import PersonalData

router = APIRouter(prefix="/me", tags=["me"])


@router.get(
    "/export",
    responses=documented(401, 503),
    summary="Everything stored about the caller, as one JSON document",
)
def export(principal: CurrentUser) -> dict[str, Any]:
    """Profile (never the password's hash), sessions, conversations, questions with their
    answers, sources and ratings, notifications, and the counters kept for the caller."""
    return PersonalData().export(principal.user_id)


@router.delete(
    "",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=documented(401, 409, 503),
    summary="Delete the caller's account and everything of it (the password confirms it)",
)
def delete(
    body: AccountDeletion, principal: CurrentUser, accounts: Accounts, request: Request
) -> Response:
    """Every item of the account goes, and every session of it ends. `401` for a wrong password;
    `409` `questions_open` while a question is still being answered."""
    accounts.delete_account(principal, body.password)
    deleted = Response(status_code=status.HTTP_204_NO_CONTENT)
    deleted.delete_cookie(REFRESH_COOKIE, **cookie_options(request))  # type: ignore[arg-type]
    return deleted
