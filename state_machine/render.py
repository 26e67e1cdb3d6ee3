"""Rendering the workflow definition: ``${Token}`` placeholders replaced by resource ARNs.

The CDK app and the embedded runtime render the same file. A token left without a value, or a
value for a token the file does not have, is an error: a definition half-rendered never ships.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFINITION_PATH = Path(__file__).with_name("question_workflow.asl.json")
# Each ${Token} of the definition -> the Lambda function behind it.
TASK_FUNCTIONS = {
    "ValidateQuestionFunctionArn": "validate_question",
    "RetrieveContextFunctionArn": "retrieve_context",
    "CallOpenAIFunctionArn": "call_openai",
    "PersistAnswerFunctionArn": "persist_answer",
    "MarkFailedFunctionArn": "mark_failed",
    "PublishNotificationFunctionArn": "publish_notification",
}
_TOKEN = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")


class RenderError(ValueError):
    """The definition cannot be rendered with the values given."""


def load_definition(path: Path = DEFINITION_PATH) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RenderError(f"Workflow definition not found: {path}") from exc


def tokens(definition: str) -> set[str]:
    return set(_TOKEN.findall(definition))


def render(values: dict[str, str], definition: str | None = None) -> str:
    """The definition with every token replaced; RenderError names what is missing or unknown."""
    text = load_definition() if definition is None else definition
    wanted = tokens(text)
    missing = sorted(wanted - values.keys())
    unknown = sorted(values.keys() - wanted)
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"no value for {', '.join(missing)}")
        if unknown:
            problems.append(f"values for tokens the definition does not have: {', '.join(unknown)}")
        raise RenderError("Cannot render the workflow definition: " + "; ".join(problems))
    empty = sorted(name for name in wanted if not values[name])
    if empty:
        raise RenderError(f"Cannot render the workflow definition: empty value for {empty}")
    rendered = _TOKEN.sub(lambda match: values[match.group(1)], text)
    try:
        json.loads(rendered)
    except ValueError as exc:
        raise RenderError(f"The rendered definition is not valid JSON: {exc}") from exc
    return rendered


def render_dict(values: dict[str, str], definition: str | None = None) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(render(values, definition))
    return parsed


def _task_worst_seconds(state: dict[str, Any], attempt_seconds: float) -> float:
    """Every attempt the task's retriers allow, each running its full time, plus the waits."""
    attempts, waits = 1, 0.0
    for retrier in state.get("Retry", []):
        tries = int(retrier.get("MaxAttempts", 3))
        interval = float(retrier.get("IntervalSeconds", 1))
        rate = float(retrier.get("BackoffRate", 2))
        cap = float(retrier.get("MaxDelaySeconds", float("inf")))
        attempts += tries
        waits += sum(min(interval * rate**n, cap) for n in range(tries))
    return attempts * attempt_seconds + waits


def worst_case_seconds(definition: dict[str, Any], attempt_seconds: Mapping[str, float]) -> float:
    """The longest an execution can run: the slowest path through the states, each task taking
    every retry its retriers allow, each attempt ``attempt_seconds[state]`` long (its Lambda
    function's timeout: a longer attempt is ended by Lambda)."""
    states: dict[str, dict[str, Any]] = definition["States"]
    memo: dict[str, float] = {}

    def longest(name: str) -> float:
        if name not in memo:
            state = states[name]
            own = 0.0
            if state["Type"] == "Task":
                seconds = min(attempt_seconds[name], float(state.get("TimeoutSeconds", 60)))
                own = _task_worst_seconds(state, seconds)
            following = [state["Next"]] if "Next" in state else []
            following += [c["Next"] for c in state.get("Catch", [])]
            following += [c["Next"] for c in state.get("Choices", [])]
            following += [state["Default"]] if "Default" in state else []
            memo[name] = own + max((longest(n) for n in following), default=0.0)
        return memo[name]

    return longest(definition["StartAt"])


# The longest an EXPRESS execution may run; past it the execution stops with no Catch, and its
# question would be left processing.
EXPRESS_LIMIT_SECONDS = 300


def task_functions(definition: dict[str, Any]) -> dict[str, str]:
    """Each task state of the unrendered definition -> the Lambda function it invokes."""
    found = {}
    for name, state in definition["States"].items():
        target = state.get("Parameters", {}).get("FunctionName", "")
        token = _TOKEN.fullmatch(str(target))
        if state["Type"] == "Task" and token:
            found[name] = TASK_FUNCTIONS[token.group(1)]
    return found
