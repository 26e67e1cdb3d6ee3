"""``make deploy`` checks the Powertools layer's public parameter in the region first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cdk_app.preflight import check_concurrency, check_layer, layer_parameter, overrides
from tests.infrastructure.test_stack import of_type, synth

ARN = "arn:aws:lambda:sa-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:20"


def ssm_answering(**response: Any) -> Any:
    client = boto3.client("ssm", region_name="sa-east-1")
    stubber = Stubber(client)
    name = layer_parameter("3.37.0")
    if "error" in response:
        stubber.add_client_error("get_parameter", service_error_code=response["error"])
    else:
        stubber.add_response(
            "get_parameter",
            {"Parameter": {"Name": name, "Value": ARN, "Type": "String"}},
            {"Name": name},
        )
    stubber.activate()
    return client


def test_the_layer_arn_when_the_region_publishes_it() -> None:
    assert check_layer(ssm_answering(), "3.37.0", "sa-east-1") == ARN


def test_a_region_without_the_layer_stops_the_deploy_saying_what_to_do() -> None:
    with pytest.raises(SystemExit) as stopped:
        check_layer(ssm_answering(error="ParameterNotFound"), "3.37.0", "sa-east-1")
    message = str(stopped.value)
    assert "not published in sa-east-1" in message
    assert layer_parameter("3.37.0") in message
    assert "powertoolsLayerArn" in message


def test_context_overrides_are_read_as_the_cdk_reads_them() -> None:
    assert overrides(["-c", "powertoolsLayerArn=arn:x", "--context", "stage=prod", "-c"]) == {
        "powertoolsLayerArn": "arn:x",
        "stage": "prod",
    }


def test_a_pinned_layer_arn_replaces_the_lookup(tmp_path: Path) -> None:
    template = synth(tmp_path, powertoolsLayerArn=ARN)
    assert "/aws/service/powertools" not in str(template.get("Parameters", {}))
    for function in of_type(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Layers"] == [ARN]


def lambda_answering(quota: int) -> Any:
    client = boto3.client("lambda", region_name="sa-east-1")
    stubber = Stubber(client)
    limits = {
        "TotalCodeSize": 80530636800,
        "CodeSizeUnzipped": 262144000,
        "CodeSizeZipped": 52428800,
        "ConcurrentExecutions": quota,
        "UnreservedConcurrentExecutions": quota,
    }
    stubber.add_response("get_account_settings", {"AccountLimit": limits, "AccountUsage": {}})
    stubber.activate()
    return client


def test_call_openais_reservation_fits_an_account_with_the_usual_quota() -> None:
    assert check_concurrency(lambda_answering(1000), 20, "sa-east-1") == 1000
    assert check_concurrency(lambda_answering(120), 20, "sa-east-1") == 120


def test_a_quota_too_low_for_the_reservation_stops_the_deploy_saying_what_to_do() -> None:
    """A new account's quota can be 10: the reservation would make CloudFormation roll back."""
    with pytest.raises(SystemExit) as stopped:
        check_concurrency(lambda_answering(10), 20, "sa-east-1")
    message = str(stopped.value)
    assert "quota is 10" in message and "keeps 100 of it unreserved" in message
    assert "-c callOpenaiConcurrency=0" in message
