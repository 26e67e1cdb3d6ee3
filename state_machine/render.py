"""Rendering the workflow definition: ``${Token}`` placeholders replaced by resource ARNs.

The CDK app and the embedded runtime render the same file. A token left without a value, or a
value for a token the file does not have, is an error: a definition half-rendered never ships.
"""

from __future__ import annotations

import json
import re
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
