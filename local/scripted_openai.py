"""An OpenAI-compatible server that answers from a script, for tests.

The real SDK talks to it over HTTP, so the project's error mapping, timeouts and idempotency are
exercised exactly as against OpenAI. A script is a list of outcomes keyed by a marker string: a
request whose user message contains the marker gets the next outcome of that list (the last one
repeats). Requests with no matching marker are answered normally.

Outcomes: ``ok``, ``rate_limit`` (429), ``quota`` (429 insufficient_quota), ``auth`` (401),
``bad_request`` (400), ``server_error`` (500), ``slow`` (answers after ``slow_seconds``),
``malformed`` (200 with a body that is not JSON), ``invented_citation`` (an answer citing an
entry number the context does not have), ``content_filter`` (200 with no content, the
answer withheld by the provider's content filter), ``no_choices`` (200 with an empty list of
choices), ``no_message`` (200 with a choice whose message is null) and ``no_usage`` (an answer
without its token counts, as some compatible servers send).

An answer reads "Scripted answer to: <the question>" and cites every numbered context entry of
the prompt as ``[n]``; ``reply(marker, text)`` makes it ``text`` instead (markdown, say).
``before_answer(marker, action)`` runs ``action`` once, while the first completion for the marker
is being answered (to change the world while the model works). Moderation flags inputs holding a
``flag(marker)`` marker and follows ``script_moderation(marker, outcomes)``, whose outcomes are
``ok`` and the error outcomes above.
Every request is kept in ``calls`` (its messages and its whole body), so tests can read the
prompt the handlers built and the parameters sent with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.openai_server import (
    OpenAICompatibleServer,
    Payload,
    chat_completion,
    error,
    read_prompt,
    user_message,
)
from local.openai_server import moderation as moderation_result

OUTCOMES = frozenset(
    {
        "ok",
        "rate_limit",
        "quota",
        "auth",
        "bad_request",
        "server_error",
        "slow",
        "malformed",
        "invented_citation",
        "content_filter",
        "no_choices",
        "no_message",
        "no_usage",
    }
)
BILLED = frozenset({"ok", "slow", "invented_citation", "no_usage"})

_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "rate_limit": (
        429,
        error(
            "Rate limit reached for requests. Please try again in 1s.",
            "requests",
            "rate_limit_exceeded",
        ),
    ),
    "quota": (
        429,
        error(
            "You exceeded your current quota, please check your plan and billing.",
            "insufficient_quota",
            "insufficient_quota",
        ),
    ),
    "auth": (401, error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")),
    "bad_request": (400, error("Invalid request.", "invalid_request_error")),
    "server_error": (500, error("The server had an error.", "server_error")),
}


MODERATION_OUTCOMES = frozenset({"ok", *_ERRORS})


def _check(outcomes: list[str], known: frozenset[str]) -> None:
    unknown = set(outcomes) - known
    if unknown or not outcomes:
        raise ValueError(f"Unknown outcomes {sorted(unknown)}; choose from {sorted(known)}")


@dataclass(frozen=True)
class Call:
    path: str
    text: str
    outcome: str
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def messages(self) -> tuple[dict[str, Any], ...]:
        """The request's chat messages (none for a moderation)."""
        return tuple(m for m in self.body.get("messages") or [] if isinstance(m, dict))


class ScriptedOpenAI(OpenAICompatibleServer):
    models = ("scripted",)

    def __init__(self, *, host: str = "127.0.0.1", slow_seconds: float = 3.0) -> None:
        super().__init__(host=host)
        self.slow_seconds = slow_seconds
        self._scripts: dict[str, list[str]] = {}
        self._moderation_scripts: dict[str, list[str]] = {}
        self._before_answer: dict[str, Callable[[], None]] = {}
        self._flagged: set[str] = set()
        self._replies: dict[str, str] = {}
        self._lock = threading.Lock()
        self.calls: list[Call] = []

    def script(self, marker: str, outcomes: list[str]) -> None:
        _check(outcomes, OUTCOMES)
        with self._lock:
            self._scripts[marker] = list(outcomes)

    def script_moderation(self, marker: str, outcomes: list[str]) -> None:
        _check(outcomes, MODERATION_OUTCOMES)
        with self._lock:
            self._moderation_scripts[marker] = list(outcomes)

    def before_answer(self, marker: str, action: Callable[[], None]) -> None:
        with self._lock:
            self._before_answer[marker] = action

    def reply(self, marker: str, text: str) -> None:
        """Answer questions containing ``marker`` with ``text``, word for word."""
        with self._lock:
            self._replies[marker] = text

    def _reply_for(self, text: str) -> str | None:
        with self._lock:
            return next((reply for m, reply in self._replies.items() if m in text), None)

    def flag(self, marker: str) -> None:
        """Moderation flags any input containing ``marker``."""
        with self._lock:
            self._flagged.add(marker)

    def calls_for(self, marker: str, path: str = "/v1/chat/completions") -> list[Call]:
        with self._lock:
            return [call for call in self.calls if marker in call.text and call.path == path]

    def completions_billed(self, marker: str) -> int:
        """Completions that were answered (and so would have been paid for)."""
        return sum(1 for call in self.calls_for(marker) if call.outcome in BILLED)

    def _next_outcome(self, text: str, scripts: dict[str, list[str]] | None = None) -> str:
        with self._lock:
            for marker, outcomes in (self._scripts if scripts is None else scripts).items():
                if marker in text:
                    return outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        return "ok"

    def _run_before_answer(self, text: str) -> None:
        with self._lock:
            marker = next((m for m in self._before_answer if m in text), None)
            action = self._before_answer.pop(marker) if marker is not None else None
        if action is not None:
            action()

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def complete(self, body: dict[str, Any]) -> tuple[int, Payload]:
        text = user_message(body)
        outcome = self._next_outcome(text)
        call = Call("/v1/chat/completions", text, outcome, body)
        self._record(call)
        messages = list(call.messages)
        if outcome in _ERRORS:
            return _ERRORS[outcome]
        if outcome == "malformed":
            return 200, b'{"id": "chatcmpl-broken", "choices": ['
        if outcome == "slow":
            time.sleep(self.slow_seconds)
        self._run_before_answer(text)
        if outcome == "content_filter":
            return 200, chat_completion(
                str(body.get("model", "scripted")), None, 10, 0, finish_reason="content_filter"
            )
        if outcome in ("no_choices", "no_message"):
            empty = chat_completion(str(body.get("model", "scripted")), None, 10, 0)
            if outcome == "no_choices":
                empty["choices"] = []
            else:
                empty["choices"][0]["message"] = None
            return 200, empty
        prompt = read_prompt(messages)
        citations = "".join(f" [{entry.number}]" for entry in prompt.entries)
        if outcome == "invented_citation":
            citations += f" [{len(prompt.entries) + 7}]"
        answer = self._reply_for(text) or f"Scripted answer to: {prompt.question}{citations}"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        reply = chat_completion(
            str(body.get("model", "scripted")), answer, prompt_tokens, len(answer.split())
        )
        if outcome == "no_usage":
            del reply["usage"]
        return 200, reply

    def moderate(self, body: dict[str, Any]) -> tuple[int, Payload]:
        raw = body.get("input", "")
        text = raw if isinstance(raw, str) else str(raw)
        outcome = self._next_outcome(text, self._moderation_scripts)
        with self._lock:
            flagged = any(marker in text for marker in self._flagged)
        self._record(Call("/v1/moderations", text, "flagged" if flagged else outcome, body))
        if outcome in _ERRORS:
            return _ERRORS[outcome]
        return 200, moderation_result(str(body.get("model", "omni-moderation-latest")), flagged)
