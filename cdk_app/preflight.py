"""``make deploy``'s first step: what the deployment needs from the region, checked before any
change set is made.

The Powertools layer is looked up from the public SSM parameter
``/aws/service/powertools/python/arm64/python3.12/<version>``. Where the parameter does not exist
(a region the layer is not published in, or a version that is not), CloudFormation fails only
when it builds the change set; this says so at once, and what to do.

``call_openai``'s reserved concurrency (``callOpenaiConcurrency``) must leave the account the 100
unreserved executions Lambda insists on; a new account's quota can be as low as 10, and then the
first deploy would roll back. This checks the quota first, and says what to do.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from cdk_app.config import DEFAULT_STAGE, load_context


def layer_parameter(version: str) -> str:
    return f"/aws/service/powertools/python/arm64/python3.12/{version}"


def check_layer(ssm: Any, version: str, region: str) -> str:
    """The layer's ARN; SystemExit with what to do when the region does not publish it."""
    name = layer_parameter(version)
    try:
        return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
            raise SystemExit(f"Could not check the Powertools layer in {region}: {exc}") from exc
    raise SystemExit(
        f"The Powertools layer {version} (arm64, Python 3.12) is not published in {region}: "
        f"there is no SSM parameter {name}.\n"
        "Deploy to a region that has it, set powertoolsVersion in stages/ to a version "
        "published there, or pin the layer's ARN for this region: "
        "make deploy CDK_ARGS='-c powertoolsLayerArn=arn:aws:lambda:...'."
    )


# What Lambda keeps unreserved in every account, whatever the functions reserve.
UNRESERVED_MINIMUM = 100


def check_concurrency(lambda_client: Any, reserved: int, region: str) -> int:
    """The account's concurrency quota; SystemExit with what to do when ``reserved`` does not
    leave Lambda's unreserved minimum beside it (no other function of the stack reserves any)."""
    quota = int(lambda_client.get_account_settings()["AccountLimit"]["ConcurrentExecutions"])
    if reserved > 0 and quota - reserved < UNRESERVED_MINIMUM:
        raise SystemExit(
            f"callOpenaiConcurrency={reserved} does not fit in this account in {region}: its "
            f"Lambda concurrency quota is {quota}, and Lambda keeps {UNRESERVED_MINIMUM} of it "
            "unreserved. Ask for a higher quota (Service Quotas: AWS Lambda, Concurrent "
            "executions), or deploy with -c callOpenaiConcurrency=0 (no reservation) until then."
        )
    return quota


def overrides(argv: list[str]) -> dict[str, str]:
    """``-c key=value`` pairs, as ``make deploy CDK_ARGS=...`` also hands them to the CDK."""
    pairs = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("-c", "--context")]
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def main() -> None:
    given = overrides(sys.argv[1:])
    context = {**load_context(given.get("stage", DEFAULT_STAGE)), **given}
    session = boto3.session.Session()
    region = os.environ.get("CDK_DEFAULT_REGION") or session.region_name
    if not region:
        sys.exit("No AWS region configured: set AWS_REGION (or a profile's region).")
    reserved = int(context.get("callOpenaiConcurrency") or 0)
    if reserved:
        try:
            quota = check_concurrency(
                session.client("lambda", region_name=region), reserved, region
            )
        except (BotoCoreError, ClientError) as exc:
            sys.exit(f"Could not read the account's Lambda concurrency in {region}: {exc}")
        print(f"==> call_openai reserves {reserved} of the account's {quota} executions")
    if context.get("powertoolsLayerArn"):
        print(f"==> Powertools layer pinned: {context['powertoolsLayerArn']}")
        return
    version = str(context["powertoolsVersion"])
    try:
        arn = check_layer(session.client("ssm", region_name=region), version, region)
    except BotoCoreError as exc:
        sys.exit(f"Could not reach AWS to check the Powertools layer: {exc}")
    print(f"==> Powertools layer {version} in {region}: {arn}")


if __name__ == "__main__":
    main()
