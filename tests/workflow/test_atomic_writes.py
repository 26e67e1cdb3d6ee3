"""The embedded runtime's DynamoDB makes each request in one step, as the service does.

A child process widens one of moto's races on purpose, starts the runtime as ``toro dev`` does,
and sends requests at once through its endpoint:

- eight conditional puts of one new item, each item read before a write waiting 50 ms: exactly
  one may succeed. Without the runtime's lock all eight did.
- a read of a question while its answer is stored, the update paused after its first attribute
  (the status): the read sees the question before the update or after it, never half of it.
  Without a lock around reads too, it saw "answered" with neither sources nor ``from_cache``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RACE = textwrap.dedent(
    """
    import os, time
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from moto.dynamodb.models.table import Table

    read = Table.get_item

    def slow_read(self, *args, **kwargs):
        found = read(self, *args, **kwargs)
        time.sleep(0.05)  # between a write's check and the write itself
        return found

    Table.get_item = slow_read

    from local.runtime import EmbeddedRuntime

    runtime = EmbeddedRuntime(port=0)
    runtime.start()
    try:
        client = boto3.client("dynamodb")

        def claim(n):
            try:
                client.put_item(
                    TableName=os.environ["TABLE_NAME"],
                    Item={"pk": {"S": "RACE"}, "sk": {"S": "ONE"}, "by": {"N": str(n)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
                return True
            except client.exceptions.ConditionalCheckFailedException:
                return False

        with ThreadPoolExecutor(max_workers=8) as pool:
            print(sum(pool.map(claim, range(8))))
    finally:
        runtime.stop()
    """
)


TORN_READ = textwrap.dedent(
    """
    import threading

    from moto.dynamodb.parsing.executors import SetExecutor

    halfway, read = threading.Event(), threading.Event()
    set_one = SetExecutor.set.__func__

    def paused_set(cls, **arguments):
        set_one(cls, **arguments)
        status = getattr(arguments["item_part_to_modify_with_set"].get("status"), "value", None)
        if status == "answered" and not halfway.is_set():
            halfway.set()
            # Give a read the time to come in between (it cannot, if requests are atomic).
            read.wait(timeout=2)

    SetExecutor.set = classmethod(paused_set)

    from core.models import Question, QuestionStatus, Source
    from core.repository import QuestionRepository
    from local.runtime import EmbeddedRuntime

    runtime = EmbeddedRuntime(port=0)
    runtime.start()
    try:
        repository = QuestionRepository()
        question = repository.create(Question(user_id="ana", session_id="s1", text="O que é CDI?"))
        repository.transition("ana", question.question_id, QuestionStatus.PROCESSING)
        seen = []

        def reader():
            halfway.wait(timeout=30)
            seen.append(QuestionRepository().get("ana", question.question_id))
            read.set()

        reading = threading.Thread(target=reader)
        reading.start()
        repository.transition(
            "ana",
            question.question_id,
            QuestionStatus.ANSWERED,
            answer="O CDI é uma taxa [1].",
            sources=[Source(id="cdi", title="CDI").model_dump()],
            grounded=True,
            from_cache=True,
        )
        reading.join(timeout=30)
        answer = seen[0]
        print(answer.status.value, answer.grounded, answer.from_cache, len(answer.sources))
    finally:
        runtime.stop()
    """
)


def _run(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_one_of_eight_racing_conditional_writes_succeeds() -> None:
    assert _run(RACE) == "1"


def test_a_question_read_while_its_answer_is_stored_is_seen_whole() -> None:
    assert _run(TORN_READ) == "answered True True 1"
