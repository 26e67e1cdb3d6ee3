"""AWS SDK failures as the project's errors: throttling and outages are worth a retry."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from core.aws_errors import aws_call, wrap_aws_error
from core.errors import DependencyError, DependencyUnavailable


def _client_error(code: str, status: int) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}}
    response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, "PutItem")


@pytest.mark.parametrize(
    "code",
    [
        # DynamoDB, SNS, Step Functions, Secrets Manager and KMS throttling and outages, as
        # their APIs name them (some with a 400 status).
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TransactionConflictException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "KMSThrottlingException",
    ],
)
def test_throttling_is_a_dependency_unavailable_for_now(code: str) -> None:
    assert isinstance(wrap_aws_error(_client_error(code, 400)), DependencyUnavailable)


def test_a_5xx_is_unavailable_and_a_4xx_is_an_error_of_ours() -> None:
    assert isinstance(wrap_aws_error(_client_error("Whatever", 500)), DependencyUnavailable)
    outage = wrap_aws_error(_client_error("Whatever", 503))
    assert isinstance(outage, DependencyUnavailable)
    assert outage.message == "PutItem failed with Whatever: m"
    refused = wrap_aws_error(_client_error("ValidationException", 499))
    assert isinstance(refused, DependencyError)
    assert not isinstance(refused, DependencyUnavailable)
    assert refused.message == "PutItem failed with ValidationException: m"


def test_an_error_without_details_still_says_what_failed() -> None:
    bare = wrap_aws_error(ClientError({}, "Publish"))
    assert type(bare) is DependencyError
    assert bare.message == "Publish failed with Unknown: "


def test_no_sdk_exception_crosses_an_aws_call() -> None:
    @aws_call
    def unreachable() -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.example")

    with pytest.raises(DependencyUnavailable, match="EndpointConnectionError"):
        unreachable()
