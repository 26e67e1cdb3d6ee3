"""The recovery sweeper against moto: what it re-sends, what it fails, and what it leaves."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from core import reset
from core.models import Question, QuestionStatus, utc_now
from core.repository import QuestionRepository
from core.settings import get_settings
from core.steps import FAILURE_MESSAGES
from core.sweeper import STOPPED, Sweeper
from core.workflow import execution_arn_for
from tests.conftest import Telemetry
from tests.integration.conftest import QUESTION_ID, USER_ID, Aws, hooked, move_to


def later() -> datetime:
    """A moment when the questions stored now are past the sweeper's grace period."""
    return utc_now() + timedelta(seconds=get_settings().sweeper_grace_seconds + 1)


def published(aws: Aws, queue_url: str) -> list[dict[str, object]]:
    return [json.loads(str(m["Message"])) for m in aws.published(queue_url)]


def test_a_pending_question_with_no_execution_is_sent_again_once(
    aws: Aws, stored_question: Question, telemetry: Telemetry
) -> None:
    repository = QuestionRepository()
    repository.mark_dispatch_failed(USER_ID, QUESTION_ID)
    repository.claim_start(USER_ID, QUESTION_ID)  # a start that failed after claiming

    report = Sweeper().sweep(now=later())
    assert (report.examined, report.resent, report.failed) == (1, [QUESTION_ID], [])
    # What operators read (docs/operations.md): the log lines and the counts alarms watch.
    seen = telemetry.read()
    assert seen.log("Question sent again")["question_id"] == QUESTION_ID
    swept = seen.log("Open questions swept")
    assert (swept["examined"], swept["resent"], swept["failed"]) == (1, [QUESTION_ID], [])
    assert seen.metric("QuestionsResent") == [(1.0, "Count")]
    assert seen.metric("QuestionsFailedBySweeper") == []
    [message] = published(aws, aws.questions_queue_url)
    assert (message["question_id"], message["user_id"]) == (QUESTION_ID, USER_ID)
    stored = repository.get(USER_ID, QUESTION_ID)
    assert stored.dispatch_failed_at is None and stored.resent_at is not None
    # The start marker is gone, so the re-sent delivery can start the workflow.
    assert repository.claim_start(USER_ID, QUESTION_ID)
    repository.release_start(USER_ID, QUESTION_ID)

    # Running it again a minute on does nothing again: it waits for the question it re-sent.
    again = Sweeper().sweep(now=later() + timedelta(minutes=1))
    assert (again.resent, again.failed) == ([], [])
    assert published(aws, aws.questions_queue_url) == []
    # A whole grace period after the re-send with still no execution: it is sent again.
    resent_at = repository.get(USER_ID, QUESTION_ID).resent_at
    assert resent_at is not None
    grace = timedelta(seconds=get_settings().sweeper_grace_seconds)
    assert Sweeper().sweep(now=resent_at + grace).resent == [QUESTION_ID]


def test_a_young_question_or_a_running_execution_is_left_alone(
    aws: Aws, stored_question: Question
) -> None:
    young = QuestionRepository().create(Question(user_id="bia", session_id="s1", text="Oi?"))
    report = Sweeper().sweep(now=young.created_at)
    assert report.examined == 1  # the sample question (from 2024), not the young one
    boto3.client("stepfunctions").start_execution(
        stateMachineArn=aws.state_machine_arn, name=QUESTION_ID, input="{}"
    )
    report = Sweeper().sweep(now=young.created_at + timedelta(seconds=1))
    assert (report.examined, report.running, report.resent, report.failed) == (1, 1, [], [])
    assert QuestionRepository().get(USER_ID, QUESTION_ID).status is QuestionStatus.PENDING


def test_through_the_state_machine_alias_a_running_execution_is_still_found(
    aws: Aws, stored_question: Question, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On AWS the sweeper is given the alias executions start through; the execution's ARN
    carries the machine's name only, so it is found and left running, not sent again."""
    monkeypatch.setenv("STATE_MACHINE_ARN", f"{aws.state_machine_arn}:live")
    reset.clear_caches()
    boto3.client("stepfunctions").start_execution(
        stateMachineArn=aws.state_machine_arn, name=QUESTION_ID, input="{}"
    )
    report = Sweeper().sweep(now=later())
    assert (report.examined, report.running, report.resent, report.failed) == (1, 1, [], [])
    assert published(aws, aws.questions_queue_url) == []


@pytest.mark.parametrize(
    "state_machine_arn",
    [
        "arn:aws:states:sa-east-1:123456789012:stateMachine:toro-prod-QuestionWorkflow",
        "arn:aws:states:sa-east-1:123456789012:stateMachine:toro-prod-QuestionWorkflow:live",
        "arn:aws:states:sa-east-1:123456789012:stateMachine:toro-prod-QuestionWorkflow:12",
    ],
)
def test_an_execution_arn_names_the_machine_whatever_it_was_started_through(
    state_machine_arn: str,
) -> None:
    assert execution_arn_for(state_machine_arn, "q-1") == (
        "arn:aws:states:sa-east-1:123456789012:execution:toro-prod-QuestionWorkflow:q-1"
    )


def test_an_aborted_execution_ends_failed_and_the_user_is_notified(
    aws: Aws, stored_question: Question, telemetry: Telemetry
) -> None:
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=aws.state_machine_arn, name=QUESTION_ID, input="{}")[
        "executionArn"
    ]
    QuestionRepository().transition(
        USER_ID, QUESTION_ID, QuestionStatus.PROCESSING, execution_arn=arn
    )
    assert Sweeper().sweep(now=later()).running == 1  # still running: nothing to do
    sfn.stop_execution(executionArn=arn)

    telemetry.read()
    report = Sweeper().sweep(now=later())
    assert report.failed == [QUESTION_ID]
    seen = telemetry.read()
    failed = seen.log("Question failed by the sweeper")
    assert (failed["question_id"], failed["execution_status"]) == (QUESTION_ID, "ABORTED")
    assert seen.metric("QuestionsFailedBySweeper") == [(1.0, "Count")]
    assert seen.metric("QuestionsResent") == []
    stored = QuestionRepository().get(USER_ID, QUESTION_ID)
    assert stored.status is QuestionStatus.FAILED
    assert (stored.error_code, stored.error_message) == (STOPPED, FAILURE_MESSAGES[STOPPED])
    [notice] = published(aws, aws.answers_queue_url)
    assert (notice["question_id"], notice["status"]) == (QUESTION_ID, "failed")

    # Twice does nothing twice: the question is no longer open.
    again = Sweeper().sweep(now=later())
    assert (again.examined, again.failed) == (0, [])
    assert published(aws, aws.answers_queue_url) == []


def test_a_processing_question_whose_execution_was_lost_ends_failed(
    aws: Aws, stored_question: Question, telemetry: Telemetry
) -> None:
    move_to(QuestionStatus.PROCESSING)
    report = Sweeper().sweep(now=later())
    assert report.failed == [QUESTION_ID]
    assert telemetry.read().log("Question failed by the sweeper")["execution_status"] == "lost"
    assert QuestionRepository().get(USER_ID, QUESTION_ID).status is QuestionStatus.FAILED


def test_each_run_does_a_bounded_amount_of_work(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEPER_BATCH", "3")
    reset.clear_caches()
    repository = QuestionRepository()
    for n in range(5):
        repository.create(Question(user_id=f"user{n}", session_id=f"s{n}", text=f"Question {n}?"))
    now = later()
    first = Sweeper().sweep(now=now)
    assert len(first.resent) == 3 and first.examined == 3
    second = Sweeper().sweep(now=now + timedelta(minutes=1))
    assert len(second.resent) == 2  # the three re-sent ones wait; the other two go now
    assert not set(first.resent) & set(second.resent)


def test_every_running_execution_is_counted(aws: Aws, stored_question: Question) -> None:
    other = QuestionRepository().create(Question(user_id="bia", session_id="s1", text="Oi?"))
    sfn = boto3.client("stepfunctions")
    for question_id in (QUESTION_ID, other.question_id):
        sfn.start_execution(stateMachineArn=aws.state_machine_arn, name=question_id, input="{}")
    report = Sweeper().sweep(now=later())
    assert (report.examined, report.running, report.resent) == (2, 2, [])


def _aborted(aws: Aws, user_id: str) -> str:
    """A pending question whose execution was started and then stopped (by hand, say)."""
    question = QuestionRepository().create(Question(user_id=user_id, session_id="s", text="Oi?"))
    sfn = boto3.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=aws.state_machine_arn, name=question.question_id, input="{}"
    )["executionArn"]
    sfn.stop_execution(executionArn=arn)
    return question.question_id


def _lost(user_id: str) -> str:
    """A processing question with no execution at all."""
    repository = QuestionRepository()
    question = repository.create(Question(user_id=user_id, session_id="s", text="Oi?"))
    repository.transition(user_id, question.question_id, QuestionStatus.PROCESSING)
    return question.question_id


def test_the_batch_bounds_failures_too_and_each_status_has_its_own(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEPER_BATCH", "2")
    reset.clear_caches()
    pending = sorted(_aborted(aws, f"pending{n}") for n in range(3))
    processing = sorted(_lost(f"processing{n}") for n in range(2))
    report = Sweeper().sweep(now=later())
    # Two of the three pending (oldest first), then the processing ones, within their own two.
    assert report.failed == pending[:2] + processing
    assert Sweeper().sweep(now=later()).failed == pending[2:]


def test_questions_sent_again_a_moment_ago_are_read_past_but_never_more_than_four_batches(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEPER_BATCH", "1")
    reset.clear_caches()
    repository = QuestionRepository()
    now = later()
    for n in range(6):
        question = repository.create(Question(user_id=f"user{n}", session_id="s", text="Oi?"))
        repository.mark_resent(question.user_id, question.question_id, now)
    report = Sweeper().sweep(now=now)
    assert (report.examined, report.resent) == (4, [])


def test_a_question_deleted_after_the_index_was_read_is_passed_over(
    aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its user deleted the account while the sweeper ran: the next questions still go."""
    repository = QuestionRepository()
    gone, *kept = [
        repository.create(Question(user_id=f"user{n}", session_id="s", text="Oi?"))
        for n in range(3)
    ]
    table = boto3.client("dynamodb")  # another client: the account deletion, elsewhere

    def delete_first(params: dict[str, Any], **_: Any) -> None:
        if params["Key"]["sk"] == {"S": f"Q#{gone.question_id}"}:
            table.delete_item(
                TableName="toro-assistant",
                Key={"pk": {"S": f"USER#{gone.user_id}"}, "sk": {"S": f"Q#{gone.question_id}"}},
            )

    with hooked("before-parameter-build.dynamodb.GetItem", delete_first):
        report = Sweeper().sweep(now=later())
    assert report.examined == 3
    assert sorted(report.resent) == sorted(question.question_id for question in kept)


def test_a_question_answered_while_the_sweeper_looked_is_not_failed(
    aws: Aws, stored_question: Question, telemetry: Telemetry
) -> None:
    """The answer arrives between the sweeper's read and its write: it stands, and the user
    is told nothing more."""
    move_to(QuestionStatus.PROCESSING)
    answered = False

    def answer_first(params: dict[str, Any], **_: Any) -> None:
        nonlocal answered
        if not answered and {"S": "failed"} in params["ExpressionAttributeValues"].values():
            answered = True
            QuestionRepository().transition(
                USER_ID, QUESTION_ID, QuestionStatus.ANSWERED, answer="Just in time."
            )

    with hooked("before-parameter-build.dynamodb.UpdateItem", answer_first):
        report = Sweeper().sweep(now=later())
    assert answered and (report.examined, report.failed) == (1, [])
    assert QuestionRepository().get(USER_ID, QUESTION_ID).answer == "Just in time."
    assert published(aws, aws.answers_queue_url) == []
    assert telemetry.read().metric("QuestionsFailedBySweeper") == []
