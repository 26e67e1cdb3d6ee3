"""``make deploy``'s first step: what the deployment needs from the region, checked before any
change set is made.

The Powertools layer is looked up from the public SSM parameter
``/aws/service/powertools/python/arm64/python3.12/<version>``. Where the parameter does not exist
(a region the layer is not published in, or a version that is not), CloudFormation fails only
when it builds the change set; this says so at once, and what to do.
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


def overrides(argv: list[str]) -> dict[str, str]:
    """``-c key=value`` pairs, as ``make deploy CDK_ARGS=...`` also hands them to the CDK."""
    pairs = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("-c", "--context")]
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def main() -> None:
    given = overrides(sys.argv[1:])
    context = {**load_context(given.get("stage", DEFAULT_STAGE)), **given}
    if context.get("powertoolsLayerArn"):
        print(f"==> Powertools layer pinned: {context['powertoolsLayerArn']}")
        return
    session = boto3.session.Session()
    region = os.environ.get("CDK_DEFAULT_REGION") or session.region_name
    if not region:
        sys.exit("No AWS region configured: set AWS_REGION (or a profile's region).")
    version = str(context["powertoolsVersion"])
    try:
        arn = check_layer(session.client("ssm", region_name=region), version, region)
    except BotoCoreError as exc:
        sys.exit(f"Could not reach AWS to check the Powertools layer: {exc}")
    print(f"==> Powertools layer {version} in {region}: {arn}")


if __name__ == "__main__":
    main()
