"""Log keys in the embedded runtime belong to the invocation (thread) that set them."""

from __future__ import annotations

import io
import json
import logging
import threading

from local.logs import PerThreadKeys, TerminalFormatter


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test-{id(formatter)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_keys_appended_on_one_thread_do_not_leak_into_another() -> None:
    formatter = PerThreadKeys({"service": "toro-assistant"})
    logger, stream = _logger(formatter)
    both_appended = threading.Barrier(2)

    def invocation(question_id: str) -> None:
        formatter.append_keys(correlation_id=question_id)
        both_appended.wait()
        logger.info("working")

    threads = [threading.Thread(target=invocation, args=(q,)) for q in ("Q-A", "Q-B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(r["correlation_id"] for r in records) == ["Q-A", "Q-B"]
    assert all(r["service"] == "toro-assistant" for r in records)


def test_terminal_lines_show_function_question_message_and_fields() -> None:
    formatter = TerminalFormatter({"service": "toro-assistant"})
    logger, stream = _logger(formatter)
    formatter.append_keys(function_name="call_openai", correlation_id="01QID")
    logger.info("Model answered", extra={"latency_ms": 12})
    line = stream.getvalue().strip()
    fields = line.split()
    assert fields[1:5] == ["INFO", "call_openai", "01QID", "Model"]
    assert line.endswith("latency_ms=12")
    assert "service" not in line
