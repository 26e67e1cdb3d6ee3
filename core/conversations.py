"""Conversations: a session is a conversation, and follow-ups carry its earlier turns.

The login session is the default conversation; ``POST /sessions`` starts more. Each conversation
that has been started or asked in has an item ``USER#<user_id>`` / ``CONV#<session_id>`` with its
title (the first question), last activity and question count. A question names its conversation
in the ``conversation`` attribute, which feeds the ``conversation-questions`` index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.aws_errors import aws_call
from core.models import Question, new_id, utc_now
from core.pagination import Page
from core.repository import Repository, conversation_sk, encode, session_sk, user_pk
from core.settings import get_settings

TITLE_MAX_CHARS = 80


class Conversation(BaseModel):
    session_id: str
    title: str | None = None
    created_at: datetime
    last_activity_at: datetime
    question_count: int = Field(default=0, ge=0)


def title_of(text: str) -> str:
    """A conversation's title: its first question, on one line, cut at a word."""
    line = " ".join(text.split())
    if len(line) <= TITLE_MAX_CHARS:
        return line
    cut = line[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


class ConversationRepository(Repository):
    @aws_call
    def start(self, user_id: str) -> Conversation:
        now = utc_now()
        conversation = Conversation(session_id=new_id(), created_at=now, last_activity_at=now)
        self._put_new(
            {
                "pk": encode(user_pk(user_id)),
                "sk": encode(conversation_sk(conversation.session_id)),
                "entity": encode("conversation"),
                "session_id": encode(conversation.session_id),
                "created_at": encode(now),
                "last_activity_at": encode(now),
                "question_count": encode(0),
            }
        )
        return conversation

    @aws_call
    def touch(self, question: Question) -> None:
        """Record a question in its conversation: title if it is the first, activity, count."""
        now = utc_now()
        self._client.update_item(
            TableName=self._table,
            Key={
                "pk": encode(user_pk(question.user_id)),
                "sk": encode(conversation_sk(question.session_id)),
            },
            UpdateExpression="SET entity = :entity, session_id = :session, "
            "title = if_not_exists(title, :title), created_at = if_not_exists(created_at, :now), "
            "last_activity_at = :now ADD question_count :one",
            ExpressionAttributeValues={
                ":entity": encode("conversation"),
                ":session": encode(question.session_id),
                ":title": encode(title_of(question.text)),
                ":now": encode(now),
                ":one": encode(1),
            },
        )

    @aws_call
    def page(self, user_id: str, *, limit: int, cursor: str | None = None) -> Page[Conversation]:
        """The user's conversations, newest first."""
        return self._cursor_page(
            Conversation, user_id, prefix=conversation_sk(""), limit=limit, cursor=cursor
        )

    @aws_call
    def owned(self, user_id: str, session_id: str) -> bool:
        """Whether ``session_id`` is one of the user's conversations or login sessions."""
        pk = encode(user_pk(user_id))
        # Conversations are in the main table, login sessions in the accounts table.
        request: dict[str, Any] = {
            table: {
                "Keys": [{"pk": pk, "sk": encode(sk)}],
                "ProjectionExpression": "pk",
                "ConsistentRead": True,
            }
            for table, sk in (
                (self._table, conversation_sk(session_id)),
                (get_settings().accounts_table_name, session_sk(session_id)),
            )
        }
        while request:
            response = self._client.batch_get_item(RequestItems=request)
            if any(response["Responses"].values()):
                return True
            request = dict(response.get("UnprocessedKeys") or {})
        return False
