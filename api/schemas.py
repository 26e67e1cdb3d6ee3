"""Request and response bodies. Internal fields (user ids, hashes, ARNs) never leave the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from core.conversations import Conversation
from core.errors import InvalidQuestion, WeakPassword
from core.feedback import COMMENT_MAX_CHARS
from core.knowledge import Entry
from core.models import Feedback, Notification, Question, QuestionStatus, Rating
from core.pagination import Page
from core.passwords import check_new_password
from core.settings import get_settings
from core.validation import clean_question

Username = Annotated[
    str,
    StringConstraints(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$"),
    Field(description="3-32 of letters, digits, `_`, `.` or `-`; case-insensitive."),
]
Password = Annotated[str, Field(min_length=8, max_length=128)]
ResourceId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Credentials(Request):
    username: Username
    password: Password


class NewAccount(Credentials):
    """Registration: the password must also pass the password policy (core/passwords.py)."""

    password: Annotated[
        str,
        Field(
            min_length=8,
            max_length=128,
            description="8-128 characters, not only spaces, no control characters, and not "
            "common or easily guessed (checked with zxcvbn).",
        ),
    ]

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str, info: ValidationInfo) -> str:
        try:
            return check_new_password(password, str(info.data.get("username", "")))
        except WeakPassword as exc:
            raise ValueError(exc.message) from exc


class AccountDeletion(Request):
    password: Password = Field(description="The account's password, to confirm it is you.")


class RefreshRequest(Request):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


# Any character but controls (line breaks and tabs are fine), with at least one that is not
# white space. The service trims the question and checks the same rules again.
_TEXT = r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
# Not white space, not a control, not an invisible format character (Unicode Cf, BMP ones).
_INVISIBLE = (
    r"\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F"
    r"\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB"
)
_VISIBLE = f"[^\\s\\x00-\\x1F\\x7F-\\x9F{_INVISIBLE}]"
QUESTION_PATTERN = f"^{_TEXT}*{_VISIBLE}{_TEXT}*$"


def _answerable(text: str) -> str:
    """The service's own rules, with its own words for what is wrong."""
    try:
        clean_question(text, max_chars=get_settings().question_max_chars)
    except InvalidQuestion as exc:
        raise ValueError(exc.message) from exc
    return text


class QuestionCreate(Request):
    question: Annotated[
        str,
        Field(
            max_length=2000,
            # Enforced by _answerable, whose messages say what is wrong ("The question is empty.").
            json_schema_extra={"minLength": 1, "pattern": QUESTION_PATTERN},
            description="At most 2000 characters, not only white space, no control characters "
            "(line breaks and tabs are fine). Stored trimmed.",
            examples=["O que é o Tesouro Selic?"],
        ),
        AfterValidator(_answerable),
    ]
    session_id: ResourceId | None = Field(
        default=None,
        description="The conversation to ask in: one of the caller's sessions (from "
        "`POST /sessions` or login). Default: the session of the access token.",
    )


class FeedbackCreate(Request):
    rating: Rating = Field(description="`up`: a good answer; `down`: not.")
    comment: Annotated[
        str | None,
        StringConstraints(strip_whitespace=True, max_length=COMMENT_MAX_CHARS),
        Field(description=f"What was good or wrong, at most {COMMENT_MAX_CHARS} characters."),
    ] = None


class FeedbackPublic(BaseModel):
    rating: Rating
    comment: str | None = None
    at: datetime = Field(description="When the rating was last given.")

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackPublic:
        return cls.model_validate(feedback.model_dump())


Language = Literal["pt", "en"]


class KnowledgeEntryPublic(BaseModel):
    id: str = Field(examples=["tesouro-selic"])
    language: Language
    title: str
    body: str
    reviewed: date = Field(description="When the entry was last checked.")
    url: str | None = Field(default=None, description="A public page on the subject, if any.")

    @classmethod
    def of(cls, entry: Entry, language: Language) -> KnowledgeEntryPublic:
        text = entry.text(language)
        return cls(
            id=entry.id,
            language=language,
            title=text.title,
            body=text.body,
            reviewed=entry.reviewed,
            url=str(entry.url) if entry.url else None,
        )


class LiveTicket(BaseModel):
    ticket: str = Field(description="Opens one connection, within `expires_in` seconds.")
    url: str = Field(description="Where to connect: `wss://...` on AWS, `ws://.../ws` locally.")
    protocols: list[str] = Field(
        description="The WebSocket sub-protocols to offer: `toro.v1` and `ticket.<ticket>`."
    )
    expires_in: int


class UserPublic(BaseModel):
    user_id: str
    username: str
    created_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str | None = Field(
        description="Null when it was set as a cookie instead (`refresh_cookie=true`)."
    )
    token_type: str = Field(examples=["bearer"])
    expires_in: int = Field(description="Seconds until the access token expires.")
    session_id: str


class QuestionAccepted(BaseModel):
    question_id: str
    session_id: str
    status: QuestionStatus
    created_at: datetime

    @classmethod
    def of(cls, question: Question) -> QuestionAccepted:
        return cls(
            question_id=question.question_id,
            session_id=question.session_id,
            status=question.status,
            created_at=question.created_at,
        )


class QuestionError(BaseModel):
    code: str
    message: str | None = None


class SourcePublic(BaseModel):
    id: str = Field(description="The knowledge-base entry's id.", examples=["tesouro-selic"])
    title: str = Field(description="Its title, in the answer's language.")
    url: str | None = Field(default=None, description="A public page on the subject, if any.")


class QuestionPublic(BaseModel):
    question_id: str
    session_id: str
    question: str
    status: QuestionStatus
    answer: str | None = Field(
        default=None, description="The answer; `[n]` marks cite the n-th item of `sources`."
    )
    sources: list[SourcePublic] = Field(
        default_factory=list,
        description="The knowledge-base entries the answer cites, in the order of `[n]`.",
    )
    grounded: bool | None = Field(
        default=None,
        description="Whether the answer rests on the knowledge base (false: the assistant "
        "said it does not know); null until answered.",
    )
    kb_version: str | None = Field(
        default=None, description="The knowledge base's version the answer was built on."
    )
    from_cache: bool = Field(
        default=False, description="Reused from an earlier answer to the same first question."
    )
    cached_from: str | None = Field(
        default=None, description="The question whose answer was reused, when `from_cache`."
    )
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None
    error: QuestionError | None = None
    feedback: FeedbackPublic | None = Field(
        default=None, description="The caller's rating of the answer, if they gave one."
    )
    created_at: datetime
    updated_at: datetime
    processing_at: datetime | None = None
    answered_at: datetime | None = None
    failed_at: datetime | None = None
    rejected_at: datetime | None = None

    @classmethod
    def of(cls, question: Question) -> QuestionPublic:
        error = (
            QuestionError(code=question.error_code, message=question.error_message)
            if question.error_code
            else None
        )
        return cls(
            question_id=question.question_id,
            session_id=question.session_id,
            question=question.text,
            status=question.status,
            answer=question.answer,
            sources=[SourcePublic.model_validate(s.model_dump()) for s in question.sources],
            grounded=question.grounded,
            kb_version=question.kb_version,
            from_cache=question.from_cache,
            cached_from=question.cached_from,
            model=question.model,
            prompt_tokens=question.prompt_tokens,
            completion_tokens=question.completion_tokens,
            latency_ms=question.llm_latency_ms,
            error=error,
            feedback=FeedbackPublic.of(question.feedback) if question.feedback else None,
            created_at=question.created_at,
            updated_at=question.updated_at,
            processing_at=question.processing_at,
            answered_at=question.answered_at,
            failed_at=question.failed_at,
            rejected_at=question.rejected_at,
        )


class QuestionList(BaseModel):
    items: list[QuestionPublic]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last one."
    )

    @classmethod
    def of(cls, page: Page[Question]) -> QuestionList:
        return cls(items=[QuestionPublic.of(q) for q in page.items], next_cursor=page.next_cursor)


class ConversationPublic(BaseModel):
    session_id: str
    title: str | None = Field(
        default=None, description="The conversation's first question; null until one is asked."
    )
    created_at: datetime
    last_activity_at: datetime
    question_count: int

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationPublic:
        return cls.model_validate(conversation.model_dump())


class ConversationList(BaseModel):
    items: list[ConversationPublic]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last one."
    )

    @classmethod
    def of(cls, page: Page[Conversation]) -> ConversationList:
        return cls(
            items=[ConversationPublic.of(c) for c in page.items], next_cursor=page.next_cursor
        )


class NotificationPublic(BaseModel):
    notification_id: str
    question_id: str
    status: QuestionStatus
    message: str
    created_at: datetime
    read_at: datetime | None = None

    @classmethod
    def of(cls, notification: Notification) -> NotificationPublic:
        return cls.model_validate(notification.model_dump())


class NotificationList(BaseModel):
    items: list[NotificationPublic]
    next_cursor: str | None = None
    unread_count: int


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    table: str = Field(examples=["reachable"])
