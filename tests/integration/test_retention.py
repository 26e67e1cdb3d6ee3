"""Retention: final questions and notifications are kept unless RECORD_TTL_DAYS is set."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from core import reset
from core.models import Notification, Question, QuestionStatus, utc_now
from core.repository import NotificationRepository, QuestionRepository
from tests.integration.conftest import Aws


def _ttl_of(pk: str, sk: str) -> int | None:
    item = boto3.client("dynamodb").get_item(
        TableName="toro-assistant", Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )["Item"]
    return int(item["ttl"]["N"]) if "ttl" in item else None


def _answer_and_notify() -> Question:
    repository = QuestionRepository()
    question = repository.create(Question(user_id="ana", session_id="s1", text="Oi?"))
    repository.transition("ana", question.question_id, QuestionStatus.PROCESSING)
    repository.transition("ana", question.question_id, QuestionStatus.ANSWERED, answer="Olá.")
    NotificationRepository().add(
        Notification(
            notification_id=question.question_id,
            user_id="ana",
            question_id=question.question_id,
            status=QuestionStatus.ANSWERED,
            message="Answered.",
        )
    )
    return question


def test_records_are_kept_by_default(aws: Aws) -> None:
    question = _answer_and_notify()
    assert _ttl_of("USER#ana", f"Q#{question.question_id}") is None
    assert _ttl_of("USER#ana", f"N#{question.question_id}") is None


def test_records_expire_after_the_configured_days(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECORD_TTL_DAYS", "30")
    reset.clear_caches()
    question = _answer_and_notify()
    expected = (utc_now() + timedelta(days=30)).timestamp()
    for sk in (f"Q#{question.question_id}", f"N#{question.question_id}"):
        ttl = _ttl_of("USER#ana", sk)
        assert ttl is not None and abs(ttl - expected) < 60, sk
