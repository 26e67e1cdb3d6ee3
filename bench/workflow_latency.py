"""Latency of one question through the embedded runtime, end to end.

Starts the embedded runtime in this process with a scripted OpenAI-compatible server that answers
at once (so the figures are the system's own overhead, not a model's), submits questions one at
a time as the API does (store pending, publish to the questions topic), and times:

- publish -> answered: from the SNS publish until the stored question is answered;
- execution: the state machine execution's own start-to-stop time;
- each state's time in the execution history (entered to exited): what Retrieve adds, say.

Each question starts a conversation of its own, with text of its own (no answer cache hit).

Usage: python -m bench.workflow_latency [--runs 25]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from typing import Any

import boto3

from bench import percentile
from core import reset
from core.messaging import Publisher
from core.models import Question, QuestionStatus, QuestionSubmitted, new_id
from core.repository import QuestionRepository
from core.workflow import execution_arn_for
from local.runtime import EmbeddedRuntime
from local.scripted_openai import ScriptedOpenAI


def run(runs: int) -> None:
    openai = ScriptedOpenAI().start()
    os.environ.update(
        {
            "OPENAI_API_KEY": "bench-key",
            "OPENAI_BASE_URL": openai.base_url,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    started = time.perf_counter()
    runtime = EmbeddedRuntime(port=0)
    runtime.start()
    startup = time.perf_counter() - started
    reset.clear_caches()
    sfn = boto3.client("stepfunctions")
    machine = os.environ["STATE_MACHINE_ARN"]
    repository, publisher = QuestionRepository(), Publisher()
    end_to_end: list[float] = []
    execution: list[float] = []
    states: dict[str, list[float]] = {}
    try:
        for index in range(runs):
            question = repository.create(
                Question(user_id="bench", session_id=new_id(), text=f"O que é CDB? #{index}")
            )
            sent = time.perf_counter()
            publisher.question_submitted(
                QuestionSubmitted(question_id=question.question_id, user_id="bench")
            )
            while repository.get("bench", question.question_id).status is not (
                QuestionStatus.ANSWERED
            ):
                if time.perf_counter() - sent > 60:
                    raise RuntimeError(f"Question {index} was not answered within 60 s")
                time.sleep(0.005)
            end_to_end.append(time.perf_counter() - sent)
            described = sfn.describe_execution(
                executionArn=execution_arn_for(machine, question.question_id)
            )
            while described["status"] == "RUNNING":
                time.sleep(0.005)
                described = sfn.describe_execution(executionArn=described["executionArn"])
            execution.append((described["stopDate"] - described["startDate"]).total_seconds())
            history = sfn.get_execution_history(
                executionArn=described["executionArn"], maxResults=1000
            )["events"]
            for name, seconds in state_durations(history).items():
                states.setdefault(name, []).append(seconds)
            print(f"  run {index + 1:>3}/{runs}: {end_to_end[-1] * 1000:7.0f} ms", flush=True)
    finally:
        runtime.stop()
        openai.stop()

    def row(name: str, values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        median, p95 = statistics.median(ms), percentile(ms, 0.95)
        return (
            f"{name:<24} median {median:7.0f} ms   p95 {p95:7.0f} ms"
            f"   min {min(ms):7.0f} ms   max {max(ms):7.0f} ms"
        )

    print()
    print(f"Embedded runtime start-up: {startup:.2f} s; {runs} questions, one at a time")
    print(row("publish -> answered", end_to_end))
    print(row("execution (start-stop)", execution))
    for name, values in states.items():
        print(row(f"  state {name}", values))


def state_durations(history: list[Any]) -> dict[str, float]:
    """Seconds from entering to leaving each state of one execution."""
    entered: dict[str, Any] = {}
    durations: dict[str, float] = {}
    for event in history:
        if "stateEnteredEventDetails" in event:
            entered[event["stateEnteredEventDetails"]["name"]] = event["timestamp"]
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            durations[name] = (event["timestamp"] - entered[name]).total_seconds()
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    run(args.runs)


if __name__ == "__main__":
    main()
