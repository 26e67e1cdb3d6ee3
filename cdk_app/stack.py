"""One stack for one stage, composed of a construct per capability."""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.constructs.access import Targets, grant_declared_access
from cdk_app.constructs.api import Api
from cdk_app.constructs.compute import Compute, Secrets
from cdk_app.constructs.live import Live
from cdk_app.constructs.messaging import Messaging, dead_letter_queue
from cdk_app.constructs.monitoring import Monitoring
from cdk_app.constructs.storage import Storage
from cdk_app.constructs.workflow import Workflow


class ToroStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, config: StageConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        storage = Storage(self, "Storage", config)
        messaging = Messaging(self, "Messaging", config)
        secrets = Secrets(self, "Secrets", config)
        compute = self.compute = Compute(self, "Compute", config=config)
        functions = {name: compute.fn(name) for name in compute.functions}
        # What the entry points invoke: each function's live alias (this deploy's version).
        aliases = {name: compute.functions[name].alias for name in compute.functions}
        workflow = self.workflow = Workflow(self, "Workflow", config=config, functions=functions)
        # The recovery sweeper, every minute by default.
        sweeper_dlq = dead_letter_queue(self, "SweeperScheduleDLQ")
        # The schedule invokes the `live` alias asynchronously: the scheduler's dead-letter
        # queue holds the invocations it could not make; this one, those that were made and
        # failed (an error or a timeout in the run), and those Lambda could not start before
        # the next run was due (throttled). Not retried: the next run does the same work.
        sweeper_failures = dead_letter_queue(self, "SweeperInvokeDLQ")
        compute.functions["sweep_open_questions"].alias.configure_async_invoke(
            on_failure=destinations.SqsDestination(sweeper_failures),
            retry_attempts=0,
            max_event_age=Duration.minutes(config.sweeper_interval_minutes),
        )
        scheduler.Schedule(
            self,
            "SweeperSchedule",
            schedule=scheduler.ScheduleExpression.rate(
                Duration.minutes(config.sweeper_interval_minutes)
            ),
            description="Recover questions left open by failures outside the workflow.",
            target=targets.LambdaInvoke(
                compute.functions["sweep_open_questions"].alias,
                input=scheduler.ScheduleTargetInput.from_object(
                    {
                        "source": "toro.sweeper",
                        "scheduled_time": scheduler.ContextAttribute.scheduled_time,
                    }
                ),
                dead_letter_queue=sweeper_dlq,
                retry_attempts=0,  # the next run, a minute later, is the retry
            ),
        )

        # SNS -> Lambda, each subscription with a dead-letter queue for undeliverable messages.
        dead_letters = {
            "QuestionsSubscription": dead_letter_queue(self, "QuestionsSubscriptionDLQ"),
            "AnswersSubscription": dead_letter_queue(self, "AnswersSubscriptionDLQ"),
        }
        messaging.questions.add_subscription(
            subscriptions.LambdaSubscription(
                aliases["start_workflow"],
                dead_letter_queue=dead_letters["QuestionsSubscription"],
            )
        )
        messaging.answers.add_subscription(
            subscriptions.LambdaSubscription(
                aliases["notify_user"], dead_letter_queue=dead_letters["AnswersSubscription"]
            )
        )
        for subscriber in ("start_workflow", "notify_user"):
            Validations.of(aliases[subscriber]).acknowledge(
                Acknowledgment(
                    id="CloudFormation-Validate::W3694",
                    reason="SNS delivers to a Lambda alias's ARN as to a function's: the "
                    "subscription invokes this deploy's version, never $LATEST.",
                )
            )
        if config.answers_email:
            answers_dlq = dead_letter_queue(self, "AnswersEmailDLQ")
            dead_letters["AnswersEmail"] = answers_dlq
            messaging.answers.add_subscription(
                subscriptions.EmailSubscription(config.answers_email, dead_letter_queue=answers_dlq)
            )
        dead_letters["AsyncInvoke"] = compute.async_dead_letters
        dead_letters["SweeperSchedule"] = sweeper_dlq
        dead_letters["SweeperInvoke"] = sweeper_failures

        api = Api(self, "Api", config=config, handler=aliases["api"])
        live = Live(
            self,
            "Live",
            config=config,
            handler=aliases["websocket"],
        )
        # Every function's grants and resource variables, from one declaration (handlers.USES).
        self.targets = Targets(
            table=storage.table,
            accounts=storage.accounts,
            questions_topic=messaging.questions,
            answers_topic=messaging.answers,
            workflow=workflow.state_machine,
            workflow_alias_arn=workflow.alias_arn,
            openai_key=secrets.openai_key,
            signing_key=secrets.signing_key,
            connections=live.stage,
        )
        grant_declared_access(self.targets, functions)
        compute.fn("api").add_environment("WEBSOCKET_URL", live.stage.url)
        Monitoring(
            self,
            "Monitoring",
            config=config,
            state_machine=workflow.state_machine,
            functions=functions,
            dead_letter_queues=dead_letters,
            rest_api=api.rest_api,
        )

        machine = workflow.state_machine.state_machine_arn
        CfnOutput(self, "ApiUrl", value=api.rest_api.url)
        CfnOutput(self, "LiveUrl", value=live.stage.url)
        # Every execution of every version is listed (and shown in the console) under the state
        # machine's own ARN; new executions start through the alias.
        CfnOutput(self, "StateMachineArn", value=machine)
        CfnOutput(self, "StateMachineAliasArn", value=workflow.alias_arn)
        CfnOutput(self, "TableName", value=storage.table.table_name)
        CfnOutput(self, "QuestionsTopicArn", value=messaging.questions.topic_arn)
        CfnOutput(self, "AnswersTopicArn", value=messaging.answers.topic_arn)
        CfnOutput(
            self,
            "StateMachineConsoleUrl",
            value=f"https://{self.region}.console.aws.amazon.com/states/home?region="
            f"{self.region}#/statemachines/view/{machine}",
        )
