"""Every alarm of the template, judged as CloudWatch would judge it, in the situations it exists
for: a total model outage, normal traffic, a quiet night, and the one fault each alarm watches.

The synthetic metrics are pessimistic on purpose: every count is published only when it is not
zero (as Powertools' metrics, Step Functions' executions and Lambda's metrics of a function
nobody invoked are), so an alarm that forgets FILL shows it here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cdk_app.config import (
    TIMEOUT_MARGIN,
    refuse_a_timeout_within_the_worst_case,
    workflow_worst_case_seconds,
)
from state_machine.render import load_definition
from tests.infrastructure.cloudwatch import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Series,
    alarm_state,
    evaluate,
)
from tests.infrastructure.test_stack import of_type, synth

PERIODS = 3  # 5-minute periods of synthetic data; each alarm judges its last EvaluationPeriods
Counts = dict[tuple[str, str, str], float]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(tmp_path_factory.mktemp("synth"))


def fn(name: str) -> str:
    """A function's metric subject: its name on AWS."""
    return f"toro-dev-{name.replace('_', '-')}"


def own(metric: str) -> tuple[str, str, str]:
    return ("ToroAssistant", metric, "toro-assistant")


def lam(metric: str, name: str) -> tuple[str, str, str]:
    return ("AWS/Lambda", metric, fn(name))


def machine(template: dict[str, Any]) -> str:
    [logical_id] = of_type(template, "AWS::StepFunctions::StateMachine")
    return logical_id


def queue(template: dict[str, Any], prefix: str) -> str:
    [logical_id] = [q for q in of_type(template, "AWS::SQS::Queue") if q.startswith(prefix)]
    return logical_id


# Five minutes of normal traffic: 300 questions, three of them rejected (handled errors).
QUESTIONS = 300
CALLS = {
    "api": 7 * QUESTIONS,
    "start_workflow": QUESTIONS,
    "validate_question": QUESTIONS,
    "retrieve_context": QUESTIONS - 3,
    "call_openai": QUESTIONS - 3,
    "persist_answer": QUESTIONS - 3,
    "mark_failed": 3,
    "publish_notification": QUESTIONS,
    "notify_user": QUESTIONS,
    "sweep_open_questions": 5,
    "websocket": 120,
}


def normal_traffic(template: dict[str, Any]) -> Counts:
    counts: Counts = {lam("Invocations", name): n for name, n in CALLS.items()}
    counts[lam("Errors", "validate_question")] = 3  # the rejected ones: caught by the ASL
    counts[own("QuestionsSubmitted")] = QUESTIONS
    counts[own("QuestionsValidated")] = QUESTIONS - 3
    counts[own("QuestionsRejected")] = 3
    counts[own("QuestionsAnswered")] = QUESTIONS - 3
    counts[("AWS/States", "ExecutionsStarted", machine(template))] = QUESTIONS
    counts[("AWS/States", "ExecutionsSucceeded", machine(template))] = QUESTIONS
    counts[("AWS/ApiGateway", "Count", "toro-dev-api")] = CALLS["api"]
    return counts


def model_outage(template: dict[str, Any]) -> Counts:
    """Every model call fails (an outage, a revoked key): each question's CallOpenAI takes all
    its retries, MarkFailed records it failed, and its execution ends normally. Nothing is
    answered, so QuestionsAnswered is not published at all."""
    counts = normal_traffic(template)
    del counts[own("QuestionsAnswered")]
    del counts[lam("Invocations", "persist_answer")]
    counts[own("QuestionsFailed")] = QUESTIONS - 3
    counts[lam("Invocations", "call_openai")] = 4 * (QUESTIONS - 3)
    counts[lam("Errors", "call_openai")] = 4 * (QUESTIONS - 3)
    counts[lam("Invocations", "mark_failed")] = QUESTIONS
    return counts


def world(counts: Counts) -> Any:
    def series(namespace: str, metric: str, subject: str) -> Series:
        value = counts.get((namespace, metric, subject))
        return [value] * PERIODS

    return series


def states(template: dict[str, Any], counts: Counts) -> dict[str, str]:
    """Each alarm's state, by its construct id (the logical id without Monitoring and hash)."""
    found = {}
    for logical_id, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        name = logical_id.removeprefix("Monitoring")[:-8]
        found[name] = alarm_state(template, alarm, world(counts)).state
    return found


# What each alarm sees: during a total model outage, and during normal traffic.
EXPECTED = {
    "ExecutionsFailed": (OK, OK),  # the Catch records each question failed
    "ExecutionsTimedOut": (OK, OK),  # every retry spent ends well inside TimeoutSeconds
    "DeadLettersQuestionsSubscription": (OK, OK),
    "DeadLettersAnswersSubscription": (OK, OK),
    "DeadLettersAsyncInvoke": (OK, OK),
    "DeadLettersSweeperSchedule": (OK, OK),
    "DeadLettersSweeperInvoke": (OK, OK),
    "ApiErrorRate": (OK, OK),  # the API keeps answering: the questions are accepted
    "StartWorkflowErrorRate": (OK, OK),
    "NotifyUserErrorRate": (OK, OK),
    "WebsocketErrorRate": (OK, OK),
    "SweeperErrors": (OK, OK),
    "WorkflowThrottles": (OK, OK),
    "Throttles": (OK, OK),
    "Api5xxRate": (OK, OK),
    "QuestionsRecovered": (OK, OK),
    "PushFailures": (OK, OK),
    # The one that must page: every question fails and none is answered.
    "QuestionFailureRate": (ALARM, OK),
}


def test_every_alarm_states_what_it_sees_in_an_outage_and_in_normal_traffic(
    template: dict[str, Any],
) -> None:
    assert set(states(template, {})) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_alarm_in_a_total_model_outage_and_in_normal_traffic(
    template: dict[str, Any], name: str
) -> None:
    outage, normal = EXPECTED[name]
    assert states(template, model_outage(template))[name] == outage
    assert states(template, normal_traffic(template))[name] == normal


def test_the_failure_rate_has_a_datapoint_when_nothing_is_answered(
    template: dict[str, Any],
) -> None:
    [alarm] = [
        a for n, a in of_type(template, "AWS::CloudWatch::Alarm").items() if "FailureRate" in n
    ]
    verdict = alarm_state(template, alarm, world(model_outage(template)))
    assert verdict.datapoints == [1.0]
    assert verdict.state == ALARM


def test_a_quiet_night_leaves_every_alarm_ok_not_without_data(template: dict[str, Any]) -> None:
    assert set(states(template, {}).values()) == {OK}


def test_few_questions_failing_do_not_page(template: dict[str, Any]) -> None:
    counts = model_outage(template)
    counts[own("QuestionsFailed")] = 19  # below the 20 questions that make a share meaningful
    assert states(template, counts)["QuestionFailureRate"] == OK


@pytest.mark.parametrize(
    ("fault", "alarm"),
    [
        ("one task throttled, the others not", "WorkflowThrottles"),
        ("the API throttled, the others not", "Throttles"),
        ("the sweeper re-sent a question", "QuestionsRecovered"),
        ("the sweeper failed a question, re-sent none", "QuestionsRecovered"),
        ("the sweeper fails", "SweeperErrors"),
        ("a failed sweeper run is kept", "DeadLettersSweeperInvoke"),
        ("an execution timed out", "ExecutionsTimedOut"),
        ("an execution failed", "ExecutionsFailed"),
        ("the API fails one request in ten", "ApiErrorRate"),
        ("updates cannot be pushed", "PushFailures"),
    ],
)
def test_the_fault_an_alarm_watches_pages_and_no_other_alarm_does(
    template: dict[str, Any], fault: str, alarm: str
) -> None:
    counts = normal_traffic(template)
    faults: dict[str, Callable[[], Counts]] = {
        "one task throttled, the others not": lambda: {lam("Throttles", "call_openai"): 10},
        "the API throttled, the others not": lambda: {lam("Throttles", "api"): 10},
        "the sweeper re-sent a question": lambda: {own("QuestionsResent"): 1},
        "the sweeper failed a question, re-sent none": lambda: {own("QuestionsFailedBySweeper"): 1},
        "the sweeper fails": lambda: {lam("Errors", "sweep_open_questions"): 5},
        "a failed sweeper run is kept": lambda: {
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue(template, "SweeperInvoke")): 1
        },
        "an execution timed out": lambda: {
            ("AWS/States", "ExecutionsTimedOut", machine(template)): 1
        },
        "an execution failed": lambda: {("AWS/States", "ExecutionsFailed", machine(template)): 1},
        "the API fails one request in ten": lambda: {lam("Errors", "api"): CALLS["api"] / 10},
        "updates cannot be pushed": lambda: {own("PushFailures"): 12},
    }
    counts.update(faults[fault]())
    found = states(template, counts)
    assert found[alarm] == ALARM
    assert {n for n, state in found.items() if state != OK} == {alarm}


def test_an_alarm_judges_what_cloudwatch_would() -> None:
    """The evaluator itself, on the expressions the template uses."""
    values: dict[str, Series] = {"e": [None, 3.0, 30.0], "t": [None, None, 10.0]}
    assert evaluate("e + t", values, 3) == [None, None, 40.0]
    assert evaluate("FILL(e, 0) + FILL(t, 0)", values, 3) == [0.0, 3.0, 40.0]
    rate = "IF((FILL(e, 0) + FILL(t, 0)) >= 20, FILL(e, 0) / (FILL(e, 0) + FILL(t, 0)), 0)"
    assert evaluate(rate, values, 3) == [0.0, 0.0, 0.75]
    assert evaluate("IF(t >= 20, e / t, 0)", values, 3) == [None, None, 0.0]
    assert evaluate("e / FILL(t, 0)", values, 3) == [None, None, 3.0]
    assert evaluate("-e * 2 - 1", values, 3) == [None, -7.0, -61.0]

    def alarm(treat: str, periods: int = 1, needed: int = 1) -> dict[str, Any]:
        return {
            "Properties": {
                "Metrics": [
                    {"Id": "x", "Expression": "m", "ReturnData": True},
                    {
                        "Id": "m",
                        "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}},
                        "ReturnData": False,
                    },
                ],
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "EvaluationPeriods": periods,
                "DatapointsToAlarm": needed,
                "TreatMissingData": treat,
            }
        }

    def judged(points: Series, treat: str, periods: int = 1, needed: int = 1) -> str:
        verdict = alarm_state({}, alarm(treat, periods, needed), lambda *_: points, current=ALARM)
        return verdict.state

    assert judged([None], "missing") == INSUFFICIENT_DATA
    assert judged([None], "ignore") == ALARM  # the state it was in
    assert judged([None], "breaching") == ALARM
    assert judged([None], "notBreaching") == OK
    assert judged([0.0, 2.0, 2.0], "notBreaching", periods=3, needed=2) == ALARM
    assert judged([0.0, 0.0, 2.0], "notBreaching", periods=3, needed=2) == OK
    assert judged([None, 2.0, None], "missing", periods=3, needed=3) == ALARM
    assert judged([0.0, 2.0, None], "missing", periods=3, needed=3) == OK


def _definition_of(template: dict[str, Any]) -> dict[str, Any]:
    [state_machine] = of_type(template, "AWS::StepFunctions::StateMachine").values()
    body = state_machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    text = "".join(p if isinstance(p, str) else "arn:aws:lambda:resolved" for p in parts)
    definition: dict[str, Any] = json.loads(text)
    return definition


def test_the_workflow_times_out_after_its_worst_case_so_the_timeout_alarm_can_fire(
    template: dict[str, Any],
) -> None:
    timeout = _definition_of(template)["TimeoutSeconds"]
    worst = workflow_worst_case_seconds()
    assert isinstance(timeout, int)
    assert timeout >= worst * TIMEOUT_MARGIN > worst
    # Not so long that a stuck question waits much past its last retry for the sweeper.
    assert timeout <= 2 * worst


def test_a_timeout_missing_or_within_the_worst_case_is_refused(tmp_path: Path) -> None:
    definition = json.loads(load_definition())
    worst = workflow_worst_case_seconds(definition)
    del definition["TimeoutSeconds"]
    with pytest.raises(ValueError, match="TimeoutSeconds is None"):
        refuse_a_timeout_within_the_worst_case(definition)
    definition["TimeoutSeconds"] = int(worst)
    with pytest.raises(ValueError, match=f"worst case \\({worst:.0f} s"):
        refuse_a_timeout_within_the_worst_case(definition)
    definition["TimeoutSeconds"] = int(worst * TIMEOUT_MARGIN) + 1
    refuse_a_timeout_within_the_worst_case(definition)


def test_the_sweeper_keeps_its_failed_runs_and_does_not_retry_them(
    template: dict[str, Any],
) -> None:
    [config] = of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    properties = config["Properties"]
    # The scheduler invokes the alias; the failures of that invocation are configured on it.
    [schedule] = of_type(template, "AWS::Scheduler::Schedule").values()
    alias = schedule["Properties"]["Target"]["Arn"]["Ref"]
    assert template["Resources"][alias]["Type"] == "AWS::Lambda::Alias"
    assert {"Ref": alias} in properties["Qualifier"]["Fn::Select"][1]["Fn::Split"]
    assert "SweepOpenQuestions" in json.dumps(properties["FunctionName"])
    assert properties["MaximumRetryAttempts"] == 0
    assert properties["MaximumEventAgeInSeconds"] == 60  # the next run is due by then
    destination = properties["DestinationConfig"]["OnFailure"]["Destination"]
    sweeper_queue = queue(template, "SweeperInvokeDLQ")
    assert destination == {"Fn::GetAtt": [sweeper_queue, "Arn"]}
    assert of_type(template, "AWS::SQS::Queue")[sweeper_queue]["Properties"]["SqsManagedSseEnabled"]
    # The function's role may send to that queue, and to no other.
    [function] = [
        f
        for f in of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"]["FunctionName"] == fn("sweep_open_questions")
    ]
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    sends = [
        statement["Resource"]
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in json.dumps(statement["Action"])
    ]
    assert sends == [{"Fn::GetAtt": [sweeper_queue, "Arn"]}]


def test_every_alarm_states_how_it_treats_missing_data(template: dict[str, Any]) -> None:
    for name, alarm in of_type(template, "AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["TreatMissingData"] in ("notBreaching", "breaching"), name
        expressions = [q["Expression"] for q in alarm["Properties"]["Metrics"] if "Expression" in q]
        metrics = [q["Id"] for q in alarm["Properties"]["Metrics"] if "MetricStat" in q]
        # Each metric the alarm reads is filled where it is used.
        for metric_id in metrics:
            assert any(f"FILL({metric_id}, 0)" in e for e in expressions), (name, metric_id)
