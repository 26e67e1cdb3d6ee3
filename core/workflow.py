"""Starting the question workflow: one execution per question, named after it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from core import clients
from core.aws_errors import aws_call
from core.models import QuestionRef, WorkflowStarted
from core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def execution_arn_for(state_machine_arn: str, execution_name: str) -> str:
    """arn:...:stateMachine:<machine>[:<version or alias>] -> arn:...:execution:<machine>:<name>.

    An execution started through a version or an alias belongs to the state machine: its ARN
    carries the machine's name, not the qualifier it was started with.
    """
    prefix, _, qualified = state_machine_arn.rpartition(":stateMachine:")
    machine = qualified.split(":")[0]
    return f"{prefix}:execution:{machine}:{execution_name}"


class WorkflowStarter:
    def __init__(self, client: SFNClient | None = None) -> None:
        self._client = client or clients.stepfunctions()

    @aws_call
    def start(self, ref: QuestionRef, name: str | None = None) -> WorkflowStarted:
        """Start the execution named after the question (or ``name``, a retry's), once.

        The name makes a duplicate delivery harmless: Step Functions returns the running
        execution for the same name and input, and answers ExecutionAlreadyExists otherwise;
        both mean the question's workflow has already been started.
        """
        machine = get_settings().state_machine_arn
        name = name or ref.question_id
        workflow_input = QuestionRef(question_id=ref.question_id, user_id=ref.user_id)
        try:
            response = self._client.start_execution(
                stateMachineArn=machine,
                name=name,
                input=workflow_input.model_dump_json(),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            return WorkflowStarted(
                question_id=ref.question_id,
                execution_arn=execution_arn_for(machine, name),
                already_started=True,
            )
        return WorkflowStarted(
            question_id=ref.question_id,
            execution_arn=response["executionArn"],
            already_started=False,
        )
