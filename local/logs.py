"""Log output for a terminal: one line per event, with the function and question id on each."""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from core.observability import logger as service_logger

# Fields every line shows in its own columns, or that a terminal reader does not need.
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


class TerminalFormatter(LambdaPowertoolsFormatter):
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
    if not json_logs:
        service_logger.registered_handler.setFormatter(TerminalFormatter())
