"""The local IAM evaluation: IAM's answers for the policies the template holds, failing closed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local import iam
from local.iam import Place, Policy, Request, Statement, requests_for, resolve

PLACE = Place(region="us-east-1", account="123456789012")
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"
NAMES: dict[str, dict[str, str]] = {
    "table": {"Ref": "t", "Arn": TABLE},
    "AWS::Partition": {"Ref": "aws"},
    "AWS::Region": {"Ref": "us-east-1"},
    "AWS::AccountId": {"Ref": "123456789012"},
}


def policy(*statements: dict[str, Any]) -> Policy:
    return Policy([Statement.parse(statement, NAMES) for statement in statements])


def allow(action: Any, resource: Any, **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def test_intrinsics_resolve_to_the_local_names_and_unknown_references_to_nothing() -> None:
    join = {"Fn::Join": ["", [{"Fn::GetAtt": ["table", "Arn"]}, "/index/*"]]}
    assert resolve(join, NAMES) == f"{TABLE}/index/*"
    split = {"Fn::Select": [5, {"Fn::Split": [":", {"Fn::GetAtt": ["table", "Arn"]}]}]}
    assert resolve(split, NAMES) == "table/t"
    assert resolve({"Ref": "other:Compute/Logs"}, NAMES) == "<unresolved other:Compute/Logs>"
    with pytest.raises(iam.Unresolvable, match="Fn::ImportValue"):
        resolve({"Fn::ImportValue": "x"}, NAMES)


def test_an_allow_needs_the_action_and_the_resource() -> None:
    granted = policy(
        allow(["dynamodb:GetItem", "dynamodb:Query"], {"Fn::GetAtt": ["table", "Arn"]})
    )
    assert granted.decide(Request("dynamodb:GetItem", TABLE))[0]
    assert granted.decide(Request("DynamoDB:getitem", TABLE))[0]  # actions ignore case
    assert not granted.decide(Request("dynamodb:UpdateItem", TABLE))[0]
    assert not granted.decide(Request("dynamodb:GetItem", f"{TABLE}/index/i"))[0]
    assert not granted.decide(Request("dynamodb:GetItem", TABLE.upper()))[0]  # ARNs do not
    wildcard = policy(allow("dynamodb:Get*", "arn:aws:dynamodb:*:*:table/?"))
    assert wildcard.decide(Request("dynamodb:GetItem", TABLE))[0]
    assert not wildcard.decide(Request("dynamodb:GetItem", TABLE + "x"))[0]


def test_a_deny_wins_and_not_action_and_not_resource_invert() -> None:
    both = policy(
        allow("dynamodb:*", "*"),
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE},
    )
    assert both.decide(Request("dynamodb:PutItem", TABLE))[0]
    assert both.decide(Request("dynamodb:DeleteItem", TABLE)) == (
        False,
        "an explicit Deny in its policy refuses it",
    )
    inverted = policy({"Effect": "Allow", "NotAction": "dynamodb:Scan", "NotResource": TABLE})
    assert inverted.decide(Request("sns:Publish", "arn:aws:sns:us-east-1:1:t"))[0]
    assert not inverted.decide(Request("dynamodb:Scan", "arn:aws:sns:us-east-1:1:t"))[0]
    assert not inverted.decide(Request("sns:Publish", TABLE))[0]


SESSION_STATE = allow(
    "dynamodb:GetItem",
    TABLE,
    **{
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "revoked_at"]},
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    },
)


def get_item(**params: Any) -> Request:
    [request] = requests_for(PLACE, "dynamodb", "GetItem", {"TableName": "t", **params})
    return request


def test_an_attribute_restriction_allows_only_reads_that_name_those_attributes() -> None:
    restricted = policy(SESSION_STATE)
    assert restricted.decide(get_item(ProjectionExpression="pk, revoked_at"))[0]
    names = {"#r": "revoked_at"}
    assert restricted.decide(get_item(ProjectionExpression="#r", ExpressionAttributeNames=names))[0]
    assert not restricted.decide(get_item(ProjectionExpression="pk, refresh_jti"))[0]
    assert not restricted.decide(get_item())[0]  # no projection: every attribute


def test_conditions_it_cannot_evaluate_allow_nothing_and_deny_everything() -> None:
    unknown_key = allow("dynamodb:GetItem", TABLE, StringEquals={"aws:SourceVpc": "vpc-1"})
    unknown_operator = allow("dynamodb:GetItem", TABLE, DateGreaterThan={"dynamodb:Select": "x"})
    for statement in (unknown_key, unknown_operator):
        assert not policy(statement).decide(get_item(ProjectionExpression="pk"))[0]
    deny = {**unknown_key, "Effect": "Deny"}
    assert not policy(allow("*", "*"), deny).decide(get_item(ProjectionExpression="pk"))[0]


def test_what_each_call_asks_authorization_for() -> None:
    transact = requests_for(
        PLACE,
        "dynamodb",
        "TransactWriteItems",
        {
            "TransactItems": [
                {"Put": {"TableName": "a", "Item": {}}},
                {"Update": {"TableName": "b", "Key": {}}},
                {"ConditionCheck": {"TableName": "a", "Key": {}}},
            ]
        },
    )
    assert [(r.action, r.resource.rsplit("/", 1)[1]) for r in transact] == [
        ("dynamodb:PutItem", "a"),
        ("dynamodb:UpdateItem", "b"),
        ("dynamodb:ConditionCheckItem", "a"),
    ]
    [query] = requests_for(PLACE, "dynamodb", "Query", {"TableName": "t", "IndexName": "i"})
    assert query.resource == f"{TABLE}/index/i"
    [invoke] = requests_for(PLACE, "lambda", "Invoke", {"FunctionName": "f", "Qualifier": "live"})
    assert invoke == Request(
        "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:f:live"
    )
    [post] = requests_for(PLACE, "execute-api", "PostToConnection", {"ConnectionId": "c1"})
    assert post == Request(
        "execute-api:ManageConnections",
        "arn:aws:execute-api:us-east-1:123456789012:local/dev/POST/@connections/c1",
    )
    topic = "arn:aws:sns:us-east-1:123456789012:q"
    keyed = Place(region="us-east-1", account="123456789012", topic_keys={topic: "arn:k"})
    assert requests_for(keyed, "sns", "Publish", {"TopicArn": topic}) == [
        Request("sns:Publish", topic),
        Request("kms:GenerateDataKey", "arn:k"),
    ]
    [unknown] = requests_for(PLACE, "ec2", "DescribeInstances", {})
    assert unknown == Request("ec2:DescribeInstances", "*")


def test_an_installed_enforcer_refuses_the_acting_principals_calls_as_aws_does(
    tmp_path: Path,
) -> None:
    extract = {
        "stage": "dev",
        "principals": {
            "function:reader": [allow("dynamodb:GetItem", {"Fn::GetAtt": ["table", "Arn"]})]
        },
        "topic_keys": {},
    }
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(extract))
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        iam.install(iam.load(NAMES, PLACE, path))
        try:
            checked = boto3.session.Session().client("dynamodb", region_name="us-east-1")
            key = {"pk": {"S": "1"}}
            checked.put_item(TableName="t", Item=key)  # nobody acts: the stack's own call
            with iam.acting_as("function:reader"):
                assert checked.get_item(TableName="t", Key=key)["Item"] == key
                with pytest.raises(ClientError) as refused:
                    checked.put_item(TableName="t", Item=key)
            with iam.acting_as("function:stranger"), pytest.raises(ClientError) as unknown:
                checked.get_item(TableName="t", Key=key)
        finally:
            iam.uninstall()
        after = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        with iam.acting_as("function:reader"):
            after.put_item(TableName="t", Item=key)  # uninstalled: nothing is checked
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/function:reader is not authorized to "
        f"perform: dynamodb:PutItem on resource: {TABLE} because no statement of its policy "
        "allows it"
    )
    assert unknown.value.response["Error"]["Message"].endswith("because it has no policy")


def test_a_negated_condition_on_a_missing_key_holds_as_in_iam() -> None:
    """IAM: StringNotEquals on a key the request lacks is true, so such a Deny applies."""
    not_specific = {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}
    deny: dict[str, Any] = {
        "Effect": "Deny",
        "Action": "dynamodb:GetItem",
        "Resource": TABLE,
        "Condition": {"StringNotEquals": not_specific},
    }
    request = get_item(ProjectionExpression="pk")  # a GetItem carries no Select
    assert "dynamodb:Select" not in request.context
    assert policy(allow("dynamodb:*", "*"), deny).decide(request) == (
        False,
        "an explicit Deny in its policy refuses it",
    )
    if_exists = {**deny, "Condition": {"StringNotEqualsIfExists": not_specific}}
    assert policy(allow("dynamodb:*", "*"), if_exists).decide(request)[0] is False


def test_a_write_counts_as_touching_every_attribute() -> None:
    limited = policy(
        allow(
            ["dynamodb:PutItem", "dynamodb:UpdateItem"],
            TABLE,
            **{"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk"]}},
        )
    )
    [put] = requests_for(PLACE, "dynamodb", "PutItem", {"TableName": "t", "Item": {"pk": {}}})
    assert not limited.decide(put)[0]
    [batch] = requests_for(
        PLACE, "dynamodb", "BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {}}]}}
    )
    assert batch.context == {"dynamodb:Attributes": (iam.ALL_ATTRIBUTES,)}


def test_a_query_on_an_index_asks_for_its_projected_attributes_by_default() -> None:
    [on_index] = requests_for(PLACE, "dynamodb", "Query", {"TableName": "t", "IndexName": "i"})
    [on_table] = requests_for(PLACE, "dynamodb", "Query", {"TableName": "t"})
    assert on_index.context["dynamodb:Select"] == ("ALL_PROJECTED_ATTRIBUTES",)
    assert on_table.context["dynamodb:Select"] == ("ALL_ATTRIBUTES",)
