"""The workflow definition: rendering, and the policies every state must carry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import errors
from local.provision import fast_retries
from state_machine.render import (
    TASK_FUNCTIONS,
    RenderError,
    load_definition,
    render,
    render_dict,
    tokens,
)

LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    # The invoke itself timing out on the service's side: transient like the rest.
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
}
ARNS = {
    token: f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    for token, name in TASK_FUNCTIONS.items()
}


@pytest.fixture
def definition() -> dict[str, Any]:
    return render_dict(ARNS)


def tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in definition["States"].items() if s["Type"] == "Task"}


def test_the_file_has_exactly_the_tokens_the_runtime_and_cdk_fill() -> None:
    assert tokens(load_definition()) == set(TASK_FUNCTIONS)


def test_rendering_replaces_every_token() -> None:
    rendered = render(ARNS)
    assert "${" not in rendered
    assert ARNS["CallOpenAIFunctionArn"] in rendered


def test_a_missing_token_fails_loudly() -> None:
    partial = dict(ARNS)
    del partial["PersistAnswerFunctionArn"]
    with pytest.raises(RenderError, match="no value for PersistAnswerFunctionArn"):
        render(partial)


def test_an_unknown_token_fails_loudly() -> None:
    with pytest.raises(RenderError, match="does not have: Typo"):
        render({**ARNS, "Typo": "arn:x"})


def test_an_empty_value_fails_loudly() -> None:
    with pytest.raises(RenderError, match="empty value"):
        render({**ARNS, "MarkFailedFunctionArn": ""})


def test_a_value_that_breaks_the_json_fails_loudly() -> None:
    with pytest.raises(RenderError, match="not valid JSON"):
        render({**ARNS, "MarkFailedFunctionArn": 'a"b'})


def test_every_task_has_timeout_result_selector_path_and_lambda_retries(
    definition: dict[str, Any],
) -> None:
    for name, state in tasks(definition).items():
        assert isinstance(state["TimeoutSeconds"], int), name
        assert state["ResultSelector"], name
        assert state["ResultPath"].startswith("$."), name
        retried = {e for retrier in state["Retry"] for e in retrier["ErrorEquals"]}
        assert retried >= LAMBDA_SERVICE_ERRORS, name


def test_call_openai_retries_only_retryable_classes_with_jittered_backoff(
    definition: dict[str, Any],
) -> None:
    call = definition["States"]["CallOpenAI"]
    retrier = next(r for r in call["Retry"] if "LLMRateLimited" in r["ErrorEquals"])
    assert set(retrier["ErrorEquals"]) == {cls.__name__ for cls in errors.RETRYABLE_LLM_ERRORS}
    assert retrier["BackoffRate"] == 2
    assert retrier["JitterStrategy"] == "FULL"
    assert retrier["MaxDelaySeconds"] > retrier["IntervalSeconds"]
    retried = {e for r in call["Retry"] for e in r["ErrorEquals"]}
    assert not retried & {cls.__name__ for cls in errors.FATAL_LLM_ERRORS}


def test_every_error_name_in_the_definition_is_a_project_class_or_aws_name(
    definition: dict[str, Any],
) -> None:
    names = set()
    for state in tasks(definition).values():
        for policy in state.get("Retry", []) + state.get("Catch", []):
            names.update(policy["ErrorEquals"])
    for name in names:
        if name.startswith(("States.", "Lambda.")):
            continue
        assert isinstance(getattr(errors, name, None), type), f"{name} is not in core.errors"


def test_no_path_leaves_a_question_pending(definition: dict[str, Any]) -> None:
    states = definition["States"]
    main_path = ["Validate", "Retrieve", "CallOpenAI", "PersistAnswer"]
    for name in main_path:
        catches = states[name]["Catch"]
        assert catches[-1]["ErrorEquals"] == ["States.ALL"]
        assert all(c["ResultPath"] == "$.error" for c in catches)
        assert {c["Next"] for c in catches} <= {"MarkFailed", "MarkRejected"}
    assert states["Validate"]["Catch"][0] == {
        "ErrorEquals": ["InvalidQuestion"],
        "ResultPath": "$.error",
        "Next": "MarkRejected",
    }
    for name in ("MarkFailed", "MarkRejected", "PersistAnswer"):
        assert states[name]["Next"] == "PublishNotification"
    assert states["PublishNotification"]["End"] is True


def test_retrieval_sits_between_validation_and_the_model_and_keeps_state_small(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    assert states["Validate"]["Next"] == "Retrieve"
    assert states["Retrieve"]["Next"] == "CallOpenAI"
    assert states["Retrieve"]["ResultPath"] == "$.retrieval"
    # Ids, scores, version, language, turns and the decision: no entry bodies enter the state.
    assert set(states["Retrieve"]["ResultSelector"]) == {
        "question_id.$",
        "kb_version.$",
        "language.$",
        "entries.$",
        "turns.$",
        "decision.$",
        "follows.$",
    }
    assert states["CallOpenAI"]["Parameters"]["Payload"]["retrieval.$"] == "$.retrieval"


def test_timeouts_nest_inside_each_other(definition: dict[str, Any]) -> None:
    # OpenAI client timeout (20 s) < Lambda timeout (30 s) < the task's TimeoutSeconds.
    assert definition["States"]["CallOpenAI"]["TimeoutSeconds"] > 30


def test_fast_retries_only_shortens_waits(definition: dict[str, Any]) -> None:
    original = json.loads(json.dumps(definition))
    fast = fast_retries(definition)
    for name, state in tasks(fast).items():
        for before, after in zip(original["States"][name]["Retry"], state["Retry"], strict=True):
            assert after["IntervalSeconds"] == 1
            assert after["MaxDelaySeconds"] == 1
            assert after["MaxAttempts"] == before["MaxAttempts"]
            assert after["ErrorEquals"] == before["ErrorEquals"]


def test_the_worst_case_takes_every_retry_on_the_slowest_path() -> None:
    from state_machine.render import worst_case_seconds

    definition = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "TimeoutSeconds": 60,
                "Next": "B",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
                "Retry": [
                    {
                        "ErrorEquals": ["X"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 3,
                        "BackoffRate": 2,
                        "MaxDelaySeconds": 3,
                    }
                ],
            },
            "B": {"Type": "Task", "TimeoutSeconds": 5, "End": True},
            "C": {"Type": "Task", "TimeoutSeconds": 60, "End": True},
        },
    }
    # A: 4 attempts of 10 s (its Lambda's timeout, below the task's) and waits 1 + 2 + 3;
    # then the slower of B (5 s, the task's own timeout) and C (10 s).
    assert worst_case_seconds(definition, {"A": 10, "B": 10, "C": 10}) == 40 + 6 + 10


def test_the_workflow_outlasts_express_so_express_is_refused() -> None:
    from cdk_app.config import workflow_worst_case_seconds

    assert workflow_worst_case_seconds() > 300
