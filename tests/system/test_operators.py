"""``toro questions``: the operators' commands against ``toro dev``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ulid import ULID

from core.models import Question, QuestionStatus
from core.repository import QuestionRepository
from local.cli import console_url
from tests.system.test_toro_dev import User
from tests.toro_dev import Dev


def _repository(dev: Dev) -> QuestionRepository:
    client = dev.dynamodb()
    return QuestionRepository(client, "toro-assistant")


def _store(dev: Dev, user: User, text: str, age: timedelta) -> Question:
    when = datetime.now(UTC) - age
    question = Question(
        question_id=str(ULID.from_datetime(when)),
        user_id=user.user_id,
        session_id=user.session,
        text=text,
        created_at=when,
        updated_at=when,
    )
    return _repository(dev).create(question)


def test_failed_questions_are_listed_and_one_tried_again_is_answered(dev: Dev) -> None:
    ana = User(dev, "ana-operator")
    question = _store(dev, ana, "O que é o Tesouro Selic?", timedelta(seconds=5))
    _repository(dev).transition(
        ana.user_id,
        question.question_id,
        QuestionStatus.FAILED,
        error_code="LLMTimeout",
        error_message="The assistant's model took too long to answer. Please ask again.",
    )
    listed = dev.toro("questions", "failed", "--since", "1h")
    assert listed.returncode == 0, listed.stderr
    assert question.question_id in listed.stdout and "LLMTimeout" in listed.stdout

    retried = dev.toro("questions", "retry", question.question_id)
    assert retried.returncode == 0, retried.stderr
    assert f"{question.question_id}-retry-1" in retried.stdout
    assert ana.wait_answered(question.question_id)["status"] == "answered"
    shown = dev.toro("executions", "show", f"{question.question_id}-retry-1")
    assert shown.returncode == 0, shown.stderr
    assert "PersistAnswer" in shown.stdout

    # Not failed any more: trying again is refused, in words.
    again = dev.toro("questions", "retry", question.question_id)
    assert again.returncode == 1
    assert "only a failed or rejected question" in again.stderr
    assert dev.toro("questions", "retry", "01NOSUCHQUESTION0000000000").returncode == 1


def test_stuck_questions_are_the_open_ones_past_an_age(dev: Dev) -> None:
    bia = User(dev, "bia-operator")
    old = _store(dev, bia, "Quanto rende a poupança?", timedelta(seconds=40))
    listed = dev.toro("questions", "stuck", "--older-than", "30s")
    assert listed.returncode == 0, listed.stderr
    assert old.question_id in listed.stdout and "pending" in listed.stdout
    assert old.question_id not in dev.toro("questions", "stuck", "--older-than", "1h").stdout
    bad = dev.toro("questions", "stuck", "--older-than", "soon")
    assert bad.returncode == 2 and "e.g. 24h" in bad.stderr


def test_the_console_link_of_an_execution() -> None:
    arn = "arn:aws:states:sa-east-1:123456789012:execution:toro-dev-QuestionWorkflow-Standard:q1"
    assert console_url(arn, "sa-east-1") == (
        "https://sa-east-1.console.aws.amazon.com/states/home?region=sa-east-1"
        f"#/v2/executions/details/{arn}"
    )
