"""Alarms on everything that means a user waits in vain, a dashboard, and an alarm topic."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk_app.config import StageConfig
from cdk_app.constructs.service_access import alarm_arns, let_alarms_publish, let_service_use_key
from state_machine.render import TASK_FUNCTIONS

PERIOD = Duration.minutes(5)
# Functions whose failures no workflow retry or catch handles.
TASK_NAMES = frozenset(TASK_FUNCTIONS.values())
UNGUARDED = ("api", "start_workflow", "notify_user", "websocket")
# A share of errors worth waking someone for, over a period with at least MIN_SAMPLE requests.
ERROR_RATE = 0.05
MODEL_FAILURE_RATE = 0.2
MIN_SAMPLE = 20
THROTTLES = 5
PUSH_FAILURES = 10


def counts(*names: str) -> list[cloudwatch.Metric]:
    """The project's own metrics (Powertools, namespace ToroAssistant), summed per period."""
    return [
        cloudwatch.Metric(
            namespace="ToroAssistant",
            metric_name=name,
            dimensions_map={"service": "toro-assistant"},
            statistic="Sum",
            period=PERIOD,
        )
        for name in names
    ]


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        state_machine: sfn.StateMachine,
        functions: dict[str, lambda_.Function],
        dead_letter_queues: dict[str, sqs.Queue],
        rest_api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Toro Assistant {config.stage}: alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=f"toro-{config.stage}-alarms",
            master_key=key,
            enforce_ssl=True,
        )
        let_service_use_key(key, "cloudwatch.amazonaws.com", alarm_arns(self))
        let_alarms_publish(self.alarm_topic)
        if config.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []
        # Every alarm watches metric math with FILL(m, 0): the counts below are published only
        # when there is something to count (Powertools' metrics, Step Functions' executions,
        # Lambda's when a function is not invoked, SQS's for an idle queue), and a sum, a share
        # or a comparison over a missing datapoint is itself missing. Filled, an empty period is
        # 0 and every alarm has a datapoint to judge, whether or not there was traffic.
        # Missing data is still stated on each alarm (NOT_BREACHING: no datapoint at all means
        # nothing happened to count), for the case where CloudWatch returns none.
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        # What is actually wrong, not every error the workflow expects and handles (a rejected
        # question, a retried model call are Lambda errors too, caught by the ASL).
        # A question left without an outcome: the workflow itself failed or ran out of time.
        self._alarm("ExecutionsFailed", filled(state_machine.metric_failed()), 1, missing=quiet)
        self._alarm(
            "ExecutionsTimedOut", filled(state_machine.metric_timed_out()), 1, missing=quiet
        )
        # Something that could not be delivered even after Lambda's and SNS's own retries. SQS
        # stops publishing a queue's metrics while it is idle and empty: missing means empty.
        for name, queue in dead_letter_queues.items():
            depth = queue.metric_approximate_number_of_messages_visible(statistic="Maximum")
            self._alarm(f"DeadLetters{name}", filled(depth), 1, missing=quiet)
        # The functions nothing retries for them: the API, and the two SNS subscribers.
        for name in UNGUARDED:
            label = name.title().replace("_", "")
            self._rate_alarm(
                f"{label}ErrorRate",
                functions[name].metric_errors(period=PERIOD),
                functions[name].metric_invocations(period=PERIOD),
                ERROR_RATE,
            )
        # The recovery sweeper itself failing: the questions it should recover stay open. Its
        # failed invocations also land in its dead-letter queue (DeadLettersSweeperInvoke).
        sweeper_errors = functions["sweep_open_questions"].metric_errors(period=PERIOD)
        self._alarm("SweeperErrors", filled(sweeper_errors), 1, missing=quiet)
        # Capacity: any function held back by Lambda's concurrency (the workflow's tasks, and
        # the others; an alarm's metric math takes at most 10 metrics). A function that was not
        # throttled publishes nothing: each term is filled, or one throttled function among
        # silent ones would make the whole sum missing.
        tasks = {n: f for n, f in functions.items() if n in TASK_NAMES}
        others = {n: f for n, f in functions.items() if n not in TASK_NAMES}
        for construct_id, group in (("WorkflowThrottles", tasks), ("Throttles", others)):
            throttles = cloudwatch.MathExpression(
                expression=" + ".join(f"FILL(t{i}, 0)" for i in range(len(group))),
                using_metrics={
                    f"t{i}": function.metric_throttles(period=PERIOD)
                    for i, function in enumerate(group.values())
                },
                label=f"{construct_id}, {len(group)} functions",
                period=PERIOD,
            )
            self._alarm(construct_id, throttles, THROTTLES, missing=quiet)
        # Users who see the service fail, and questions the model does not answer.
        self._rate_alarm(
            "Api5xxRate",
            rest_api.metric_server_error(period=PERIOD),
            rest_api.metric_count(period=PERIOD),
            ERROR_RATE,
        )
        # The recovery sweeper found something: a question not sent, or an execution that
        # ended without recording its question. Each is recovered; the cause needs a look.
        # Either count alone is published when the other is not.
        resent, swept = counts("QuestionsResent", "QuestionsFailedBySweeper")
        recovered = cloudwatch.MathExpression(
            expression="FILL(r, 0) + FILL(f, 0)",
            using_metrics={"r": resent, "f": swept},
            label="Questions recovered by the sweeper",
            period=PERIOD,
        )
        self._alarm("QuestionsRecovered", recovered, 1, missing=quiet)
        # Updates that could not be pushed (the page and clients fall back to polling).
        [push_failures] = counts("PushFailures")
        self._alarm("PushFailures", filled(push_failures), PUSH_FAILURES, missing=quiet)
        # During a total model outage every question fails and none is answered: the answered
        # count is then not published at all, which without FILL left the share without a
        # datapoint exactly when it mattered.
        failed, answered = counts("QuestionsFailed", "QuestionsAnswered")
        self._rate_alarm(
            "QuestionFailureRate", failed, answered, MODEL_FAILURE_RATE, errors_in_total=False
        )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"toro-{config.stage}")

        questions = counts(
            "QuestionsSubmitted", "QuestionsAnswered", "QuestionsFailed", "QuestionsRejected"
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Questions", left=questions, width=12),
            cloudwatch.GraphWidget(
                title="Answer cache and tokens",
                left=counts("CacheHits", "CacheMisses"),
                right=counts("PromptTokens", "CompletionTokens"),
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Executions",
                left=[
                    state_machine.metric_started(period=PERIOD),
                    state_machine.metric_succeeded(period=PERIOD),
                    state_machine.metric_failed(period=PERIOD),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[f.metric_errors(period=PERIOD) for f in functions.values()],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="API",
                left=[rest_api.metric_count(period=PERIOD)],
                right=[rest_api.metric_server_error(period=PERIOD)],
                width=12,
            ),
        )

    def _rate_alarm(
        self,
        construct_id: str,
        errors: cloudwatch.IMetric,
        total: cloudwatch.IMetric,
        threshold: float,
        *,
        errors_in_total: bool = True,
    ) -> None:
        """Alarm when ``errors`` are ``threshold`` of all in a period with at least MIN_SAMPLE,
        so that one error among three requests does not page. All is ``total``, or ``errors``
        plus ``total`` when ``total`` does not count them. Both are filled: errors are published
        only when there are some, and a function that is not invoked publishes nothing."""
        e, t = "FILL(e, 0)", "FILL(t, 0)"
        whole = t if errors_in_total else f"({e} + {t})"
        rate = cloudwatch.MathExpression(
            expression=f"IF({whole} >= {MIN_SAMPLE}, {e} / {whole}, 0)",
            using_metrics={"e": errors, "t": total},
            label=f"{construct_id} (share)",
            period=PERIOD,
        )
        # Quiet periods are 0 (below MIN_SAMPLE): no datapoint at all means no traffic.
        self._alarm(
            construct_id, rate, threshold, missing=cloudwatch.TreatMissingData.NOT_BREACHING
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        missing: cloudwatch.TreatMissingData,
    ) -> None:
        """Alarm when one 5-minute datapoint reaches ``threshold``; ``missing`` says what a
        period without any datapoint means for this alarm."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))
        self.alarms.append(alarm)


def filled(metric: cloudwatch.Metric) -> cloudwatch.MathExpression:
    """``metric`` per 5-minute period with its missing periods as 0."""
    return cloudwatch.MathExpression(
        expression="FILL(m, 0)",
        using_metrics={"m": metric.with_(period=PERIOD)},
        label=f"{metric.metric_name} (missing as 0)",
        period=PERIOD,
    )
