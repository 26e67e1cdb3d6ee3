"""The recovery sweeper: no question stays open because something outside the workflow failed.

The workflow's own faults end in a Catch that records the question failed. What it cannot see:
the API stored a question but could not publish it (``dispatch_failed_at``); the delivery to
``start_workflow`` failed for good (the dead-letter queues); an execution ended without running
its Catch (aborted, timed out; on EXPRESS, lost); or, locally, a restart lost the executions.

Run on a schedule (every minute on AWS, by EventBridge Scheduler; by ``toro dev`` locally), it
reads the ``open-questions`` index for questions older than ``SWEEPER_GRACE_SECONDS``, and acts
on at most ``SWEEPER_BATCH`` of each status per run (looking at no more than four times that),
and for each:

- ``pending`` with no execution: publishes it again (the execution is named after the question,
  so this can never start a second one), after clearing the start marker a failed start may have
  left, and notes ``resent_at`` so that the next runs wait for it rather than send it again;
- ``pending`` or ``processing`` whose execution is no longer running (or was lost): records it
  ``failed`` with a reason and notifies the user, as the workflow's Catch would have.

Running it twice does nothing twice: a question it re-sent has an execution or a recent
``resent_at``; one it failed is no longer open.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from ulid import ULID

from core import clients
from core.aws_errors import aws_call
from core.errors import IllegalTransition, QuestionNotFound
from core.messaging import Publisher
from core.models import (
    PublishNotificationTask,
    Question,
    QuestionStatus,
    utc_now,
)
from core.observability import MetricUnit, logger, metrics
from core.repository import QuestionRepository
from core.settings import get_settings
from core.steps import FAILURE_MESSAGES, publish_outcome
from core.workflow import execution_arn_for

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

STOPPED = "WorkflowStopped"


@dataclass
class SweepReport:
    examined: int = 0
    running: int = 0
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sweeper:
    def __init__(
        self,
        repository: QuestionRepository | None = None,
        stepfunctions: SFNClient | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self._questions = repository or QuestionRepository()
        self._sfn = stepfunctions or clients.stepfunctions()
        self._publisher = publisher or Publisher()

    def sweep(self, now: datetime | None = None) -> SweepReport:
        settings = get_settings()
        now = now or utc_now()
        grace = timedelta(seconds=settings.sweeper_grace_seconds)
        # Question ids are ULIDs: ordered by creation time, so "older than" is "sorts before".
        before = str(ULID.from_datetime(now - grace))
        report = SweepReport()
        batch = settings.sweeper_batch
        for status in (QuestionStatus.PENDING, QuestionStatus.PROCESSING):
            acted = len(report.resent) + len(report.failed)
            # Questions re-sent a moment ago are looked at and skipped: read past them, so that
            # they never keep the others waiting, but never more than four batches a run.
            for user_id, question_id in self._questions.open_before(status, before, batch * 4):
                if len(report.resent) + len(report.failed) - acted >= batch:
                    break
                report.examined += 1
                try:
                    question = self._questions.get(user_id, question_id)
                except QuestionNotFound:
                    continue  # deleted since the index was read
                self._sweep_one(question, now, grace, report)
        if report.resent:
            metrics.add_metric(
                name="QuestionsResent", unit=MetricUnit.Count, value=len(report.resent)
            )
        if report.failed:
            metrics.add_metric(
                name="QuestionsFailedBySweeper", unit=MetricUnit.Count, value=len(report.failed)
            )
        logger.info("Open questions swept", extra=report.as_dict())
        return report

    def _sweep_one(
        self, question: Question, now: datetime, grace: timedelta, report: SweepReport
    ) -> None:
        if question.status not in (QuestionStatus.PENDING, QuestionStatus.PROCESSING):
            return  # final since the index was read
        execution = self._execution_status(question)
        if execution == "RUNNING":
            report.running += 1
            return
        if question.status is QuestionStatus.PENDING and execution is None:
            if question.resent_at and now - question.resent_at < grace:
                return  # sent again a moment ago: its execution is on its way
            self._resend(question, now)
            report.resent.append(question.question_id)
            return
        if self._fail(question, execution or "lost"):
            report.failed.append(question.question_id)

    @aws_call
    def _execution_status(self, question: Question) -> str | None:
        """The status of the question's execution; None when there is none."""
        arn = question.execution_arn or execution_arn_for(
            get_settings().state_machine_arn, question.execution_name or question.question_id
        )
        try:
            return self._sfn.describe_execution(executionArn=arn)["status"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return None
            raise

    def _resend(self, question: Question, now: datetime) -> None:
        self._questions.mark_resent(question.user_id, question.question_id, now)
        self._publisher.question_submitted(question.submitted())
        logger.warning("Question sent again", extra={"question_id": question.question_id})

    def _fail(self, question: Question, execution: str) -> bool:
        """Record the question failed and tell its user; False if it was final already."""
        try:
            self._questions.transition(
                question.user_id,
                question.question_id,
                QuestionStatus.FAILED,
                error_code=STOPPED,
                error_message=FAILURE_MESSAGES[STOPPED],
            )
        except IllegalTransition:
            return False
        publish_outcome(
            PublishNotificationTask(
                question_id=question.question_id,
                user_id=question.user_id,
                status=QuestionStatus.FAILED,
            )
        )
        logger.warning(
            "Question failed by the sweeper",
            extra={"question_id": question.question_id, "execution_status": execution},
        )
        return True
