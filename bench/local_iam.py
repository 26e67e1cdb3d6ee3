"""What the local IAM check costs: the template's policies loaded, and the calls a question's
functions make checked against them, with and without the check in front of moto.

    python -m bench.local_iam [--calls 2000] [--runs 7]

Prints the median time of one check alone, and of one DynamoDB GetItem against moto (in this
process) with the check installed and without, run by run interleaved so both share the noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import boto3
from moto import mock_aws

from handlers import FUNCTIONS, Resource
from local import iam
from local.provision import ACCOUNTS_TABLE_NAME, TABLE_NAME, create_tables

PLACE = iam.Place(region="us-east-1", account="123456789012")
NAMES = {
    Resource.TABLE: {"Ref": TABLE_NAME, "Arn": PLACE.arn("dynamodb", f"table/{TABLE_NAME}")},
    Resource.ACCOUNTS: {
        "Ref": ACCOUNTS_TABLE_NAME,
        "Arn": PLACE.arn("dynamodb", f"table/{ACCOUNTS_TABLE_NAME}"),
    },
    **{f"function:{n}": {"Ref": PLACE.arn("lambda", f"function:{n}")} for n in FUNCTIONS},
}
KEY = {"pk": {"S": "USER#1"}, "sk": {"S": "Q#1"}}


def per_call_us(calls: int, call: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    enforcer = iam.load(NAMES, PLACE)
    params = {"TableName": TABLE_NAME, "Key": KEY}

    def check() -> None:
        enforcer.check("function:call_openai", "dynamodb", "GetItem", params)

    def get_items(installed: bool) -> float:
        """Microseconds per GetItem through a new client, with the check installed or not."""
        if installed:
            iam.install(enforcer)
        try:
            client = boto3.session.Session().client("dynamodb", region_name="us-east-1")
            with iam.acting_as("function:call_openai"):
                return per_call_us(
                    args.calls // 10, lambda: client.get_item(TableName=TABLE_NAME, Key=KEY)
                )
        finally:
            iam.uninstall()

    alone: list[float] = []
    timed: dict[bool, list[float]] = {True: [], False: []}
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"))
        get_items(False)  # warm up moto and botocore's loaders
        for run in range(args.runs):
            alone.append(per_call_us(args.calls, check))
            for installed in (run % 2 == 0, run % 2 == 1):  # alternate which goes first
                timed[installed].append(get_items(installed))
    checked, unchecked = timed[True], timed[False]
    statements = sum(len(policy.statements) for policy in enforcer.policies.values())
    print(f"local IAM: {len(enforcer.policies)} principals, {statements} statements")
    print(f"  one check (call_openai GetItem):       {statistics.median(alone):8.1f} µs median")
    print(f"  GetItem against moto, checked:         {statistics.median(checked):8.1f} µs median")
    print(f"  GetItem against moto, not checked:     {statistics.median(unchecked):8.1f} µs median")
    ratio = statistics.median(checked) / statistics.median(unchecked)
    print(f"  checked / not checked:                 {ratio:8.3f}")


if __name__ == "__main__":
    main()
