"""The embedded runtime's DynamoDB checks a condition and writes in one step, as the service does.

A child process widens moto's race on purpose (each item read before a write waits 50 ms), starts
the runtime as ``toro dev`` does, and sends eight conditional puts of one new item at once
through its endpoint: exactly one may succeed. Without the runtime's lock all eight did.
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


def test_one_of_eight_racing_conditional_writes_succeeds() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RACE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "1"
