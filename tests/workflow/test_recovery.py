"""Recovery from failures outside the state machine, with the real workflow running."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from core import reset
from core.errors import PublishFailed
from core.models import QuestionStatus, new_id, utc_now
from core.questions import QuestionService
from core.repository import QuestionRepository
from core.settings import get_settings
from core.sweeper import Sweeper
from tests.workflow.conftest import Workflow


def test_a_question_whose_publish_failed_is_answered_with_no_retry_by_the_client(
    workflow: Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The questions topic is unavailable when the API publishes: the question is stored, the
    # client told it will be sent automatically, and nothing else happens.
    monkeypatch.setenv("QUESTIONS_TOPIC_ARN", workflow.questions_topic_arn + "-unavailable")
    monkeypatch.setenv("PUBLISH_ATTEMPTS", "1")
    reset.clear_caches()
    user = f"recovery-{new_id()[-6:]}"
    with pytest.raises(PublishFailed, match="sent automatically"):
        QuestionService().submit(user, new_id(), "O que é o Tesouro Selic?")
    [question] = QuestionRepository().list_for_user(user, limit=5).items
    assert question.status is QuestionStatus.PENDING and question.dispatch_failed_at
    assert workflow.executions_named(question.question_id) == []

    # The topic is back; the sweeper's next run past the grace period sends it again.
    monkeypatch.setenv("QUESTIONS_TOPIC_ARN", workflow.questions_topic_arn)
    reset.clear_caches()
    now = utc_now() + timedelta(seconds=get_settings().sweeper_grace_seconds + 1)
    assert question.question_id in Sweeper().sweep(now=now).resent
    outcome = workflow.wait(question)
    assert outcome.question.status is QuestionStatus.ANSWERED
    assert [n.status for n in outcome.notifications] == [QuestionStatus.ANSWERED]
    assert len(workflow.executions_named(question.question_id)) == 1
    # Another run finds nothing to do for it.
    again = Sweeper().sweep(now=now + timedelta(minutes=1))
    assert question.question_id not in again.resent + again.failed


def test_a_failed_question_tried_again_runs_a_new_execution_and_is_answered(
    workflow: Workflow,
) -> None:
    marker = "[refused-then-fine]"
    workflow.openai.script(marker, ["auth", "ok"])
    question = workflow.submit(f"Devo comprar ações? {marker}", user_id=f"retry-{new_id()[-6:]}")
    first = workflow.wait(question)
    assert first.question.status is QuestionStatus.FAILED

    again = QuestionService().retry(question.user_id, question.question_id)
    assert again.status is QuestionStatus.PENDING
    name = f"{question.question_id}-retry-1"
    deadline = time.monotonic() + 60
    while [e["status"] for e in workflow.executions_named(name)] != ["SUCCEEDED"]:
        assert time.monotonic() < deadline, workflow.executions_named(name)
        time.sleep(0.1)
    stored = QuestionRepository().get(question.user_id, question.question_id)
    assert stored.status is QuestionStatus.ANSWERED
    assert stored.execution_arn and stored.execution_arn.endswith(f":{name}")
    assert [e["status"] for e in workflow.executions_named(question.question_id)] == ["SUCCEEDED"]
    assert stored.retries == 1 and stored.error_code is None
