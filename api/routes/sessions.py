"""Conversations: a session is a conversation; the login session is the first one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from api.deps import Conversations, CurrentUser, root_of
from api.errors import documented
from api.schemas import ConversationList, ConversationPublic

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ConversationPublic,
    responses=documented(401, 503),
    summary="Start a new conversation",
)
def start(
    principal: CurrentUser, conversations: Conversations, request: Request, response: Response
) -> ConversationPublic:
    conversation = conversations.start(principal.user_id)
    response.headers["Location"] = f"{root_of(request)}/api/v1/questions/{conversation.session_id}"
    return ConversationPublic.of(conversation)


@router.get(
    "",
    response_model=ConversationList,
    responses=documented(401, 503),
    summary="The caller's conversations, newest first: title and last activity",
)
def list_conversations(
    principal: CurrentUser,
    conversations: Conversations,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ConversationList:
    return ConversationList.of(conversations.page(principal.user_id, limit=limit, cursor=cursor))
