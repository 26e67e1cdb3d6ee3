"""Logging for the embedded runtime, where many invocations share one process.

On Lambda each invocation has the process to itself, so Powertools keeps the keys it appends
(function name, correlation id...) on one shared formatter. Here invocations run side by side on
threads, so the keys are kept per thread; and for a terminal, lines can be written as
``time level function question message k=v`` instead of JSON.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from core.observability import logger as service_logger

# Fields every terminal line shows in its own columns, or that a terminal reader does not need.
_SHOWN = ("timestamp", "level", "message", "function_name", "correlation_id")
_HIDDEN = frozenset(
    {
        "service",
        "location",
        "cold_start",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "sampling_rate",
    }
)


class PerThreadKeys(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter whose appended keys belong to the thread that appended them."""

    def __init__(self, template: dict[str, Any] | None = None, **options: Any) -> None:
        self._local = threading.local()
        self._template: dict[str, Any] = {}
        super().__init__(**options)
        self._template = dict(template if template is not None else self.log_format)

    @property
    def log_format(self) -> dict[str, Any]:
        keys: dict[str, Any] | None = getattr(self._local, "keys", None)
        if keys is None:
            keys = dict(self._template)
            self._local.keys = keys
        return keys

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        self._local.keys = value


class TerminalFormatter(PerThreadKeys):
    """Powertools' structured record, written as ``time level function question message k=v``."""

    def serialize(self, log: dict[str, Any] | Any) -> str:
        log = dict(log)
        time = str(log.get("timestamp", ""))[11:19]
        level = str(log.get("level", ""))
        function = str(log.get("function_name") or "-")
        question = str(log.get("correlation_id") or "-")
        extras = " ".join(
            f"{key}={value}"
            for key, value in log.items()
            if key not in _HIDDEN and key not in _SHOWN and value not in (None, "")
        )
        line = f"{time} {level:<7} {function:<20} {question:<26} {log.get('message', '')}"
        return f"{line} {extras}" if extras else line


def use_per_thread_keys(terminal: bool = False) -> None:
    """Give the service's logger a per-thread formatter (JSON, or terminal lines)."""
    handler = service_logger.registered_handler
    current = handler.formatter
    if isinstance(current, PerThreadKeys) and isinstance(current, TerminalFormatter) == terminal:
        return
    template = dict(getattr(current, "log_format", {}) or {})
    formatter_class = TerminalFormatter if terminal else PerThreadKeys
    handler.setFormatter(formatter_class(template))


def configure(json_logs: bool) -> None:
    """Terminal lines by default; Powertools' JSON (as on CloudWatch) with ``json_logs``."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)-20s %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("werkzeug", "botocore", "urllib3", "uvicorn.access", "httpx", "httpx2", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The service's logger has its own handler; its records must not print twice through root.
    logging.getLogger(service_logger.name).propagate = False
    use_per_thread_keys(terminal=not json_logs)
