"""Dependencies the routes declare. Tests swap them through ``app.dependency_overrides``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.accounts import UNKNOWN_CLIENT, AccountService, Principal, TokenService
from core.conversations import ConversationRepository
from core.errors import AuthenticationFailed, NotFound
from core.questions import QuestionService
from core.repository import NotificationRepository

_bearer = HTTPBearer(auto_error=False, description="The access token from /auth/login.")


def get_tokens() -> TokenService:
    return TokenService()


def get_accounts(tokens: Annotated[TokenService, Depends(get_tokens)]) -> AccountService:
    return AccountService(tokens=tokens)


def get_questions() -> QuestionService:
    return QuestionService()


def get_notifications() -> NotificationRepository:
    return NotificationRepository()


def get_conversations() -> ConversationRepository:
    return ConversationRepository()


def client_address(request: Request) -> str:
    """The caller's address: the socket's peer locally, API Gateway's ``sourceIp`` on AWS
    (Mangum passes it on), never a header a client could write."""
    return request.client.host if request.client else UNKNOWN_CLIENT


def root_of(request: Request) -> str:
    """Where the app is in the browser's URLs: empty locally, the stage (``/dev``) on AWS."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    tokens: Annotated[TokenService, Depends(get_tokens)],
    accounts: Annotated[AccountService, Depends(get_accounts)],
) -> Principal:
    """The caller of a genuine, current access token whose session has not ended."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("A bearer access token is required.")
    return accounts.require_active(tokens.principal(credentials.credentials))


def check_conversation(
    conversations: ConversationRepository, principal: Principal, session_id: str
) -> None:
    """404 unless ``session_id`` is one of the caller's conversations or login sessions."""
    if session_id != principal.session_id and not conversations.owned(
        principal.user_id, session_id
    ):
        raise NotFound(f"Session {session_id} does not exist.")


Accounts = Annotated[AccountService, Depends(get_accounts)]
Tokens = Annotated[TokenService, Depends(get_tokens)]
Conversations = Annotated[ConversationRepository, Depends(get_conversations)]
Questions = Annotated[QuestionService, Depends(get_questions)]
Notifications = Annotated[NotificationRepository, Depends(get_notifications)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
