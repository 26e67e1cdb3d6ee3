"""The synthesized CloudFormation template: what the deployment promises, checked offline."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Match, Template

from cdk_app.app import build_app
from core import errors
from core.settings import AuthSettings
from handlers import FUNCTIONS

Resources = dict[str, dict[str, Any]]


def synth(tmp: Path, **overrides: Any) -> dict[str, Any]:
    asset = tmp / "asset"
    asset.mkdir(parents=True, exist_ok=True)
    (asset / "placeholder.py").write_text("# the real code comes from `make build`\n")
    app = build_app({"assetPath": str(asset), **overrides}, outdir=str(tmp / "cdk.out"))
    stack = app.node.children[0]
    template: dict[str, Any] = dict(Template.from_stack(stack).to_json())  # type: ignore[arg-type]
    return template


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(tmp_path_factory.mktemp("synth"))


def of_type(template: dict[str, Any], kind: str) -> Resources:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_every_function_is_arm64_traced_json_logged_with_its_own_role(
    template: dict[str, Any],
) -> None:
    functions = of_type(template, "AWS::Lambda::Function")
    assert len(functions) == len(FUNCTIONS) == 11
    roles = [fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in functions.values()]
    assert len(set(roles)) == len(roles)
    log_groups = of_type(template, "AWS::Logs::LogGroup")
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["Architectures"] == ["arm64"], name
        assert props["Runtime"] in ("python3.12", "python3.13"), name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["LoggingConfig"]["LogFormat"] == "JSON", name
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[group]["Properties"]["RetentionInDays"] == 30, name
        assert "Layers" in props, name


def test_timeouts_nest_inside_the_tasks_timeouts(template: dict[str, Any]) -> None:
    functions = {
        fn["Properties"]["FunctionName"]: fn["Properties"]["Timeout"]
        for fn in of_type(template, "AWS::Lambda::Function").values()
    }
    definition = _definition(template)
    states = json.loads(definition)["States"]
    assert functions["toro-dev-call-openai"] < states["CallOpenAI"]["TimeoutSeconds"]
    assert functions["toro-dev-validate-question"] < states["Validate"]["TimeoutSeconds"]
    assert functions["toro-dev-persist-answer"] < states["PersistAnswer"]["TimeoutSeconds"]
    assert functions["toro-dev-call-openai"] > 20  # above the OpenAI client's own timeout


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def test_no_policy_allows_every_action(template: dict[str, Any]) -> None:
    for name, policy in of_type(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in _actions(statement):
                assert action != "*" and not action.endswith(":*"), (name, action)
    for name, role in of_type(template, "AWS::IAM::Role").items():
        if name.startswith("ApiRestApiCloudWatchRole"):
            # API Gateway's account-wide logging role: the service's own policy, and only it.
            [policy] = role["Properties"]["ManagedPolicyArns"]
            assert json.dumps(policy).endswith('AmazonAPIGatewayPushToCloudWatchLogs"]]}')
            continue
        assert "ManagedPolicyArns" not in role["Properties"], name


def _definition(template: dict[str, Any]) -> str:
    [machine] = of_type(template, "AWS::StepFunctions::StateMachine").values()
    body = machine["Properties"]["DefinitionString"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return "".join(p if isinstance(p, str) else "arn:aws:lambda:resolved" for p in parts)


def test_the_state_machine_logs_traces_and_keeps_the_asl_retry_policy(
    template: dict[str, Any],
) -> None:
    [machine] = of_type(template, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    definition = _definition(template)
    assert "${" not in definition
    retry = json.loads(definition)["States"]["CallOpenAI"]["Retry"]
    retried = {name for rule in retry for name in rule["ErrorEquals"]}
    assert {cls.__name__ for cls in errors.RETRYABLE_LLM_ERRORS} <= retried
    assert all(rule["JitterStrategy"] == "FULL" for rule in retry)


def test_express_is_refused_while_the_retries_outlast_its_five_minutes(
    template: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"EXPRESS is refused: .* up to \d+ s.* after 300 s"):
        synth(tmp_path, workflowType="EXPRESS")
    [standard] = of_type(template, "AWS::StepFunctions::StateMachine").values()
    assert standard["Properties"]["StateMachineType"] == "STANDARD"
    # The type cannot change in place; the name carries it, so that a switch can replace it.
    assert standard["Properties"]["StateMachineName"] == "toro-dev-QuestionWorkflow-Standard"


def test_the_table_has_recovery_ttl_and_the_open_questions_index(template: dict[str, Any]) -> None:
    Template.from_json(template).has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "BillingMode": "PAY_PER_REQUEST",
            "Replicas": [
                Match.object_like(
                    {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
                )
            ],
            "GlobalSecondaryIndexes": [
                Match.object_like({"IndexName": "open-questions"}),
                Match.object_like(
                    {
                        "IndexName": "conversation-questions",
                        "KeySchema": [
                            {"AttributeName": "conversation", "KeyType": "HASH"},
                            {"AttributeName": "sk", "KeyType": "RANGE"},
                        ],
                    }
                ),
            ],
        },
    )


def test_topics_are_encrypted_and_every_subscription_has_a_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    for name, topic in of_type(template, "AWS::SNS::Topic").items():
        assert "KmsMasterKeyId" in topic["Properties"], name
    subscriptions = of_type(template, "AWS::SNS::Subscription")
    assert len(subscriptions) == 2
    for name, subscription in subscriptions.items():
        assert "deadLetterTargetArn" in subscription["Properties"]["RedrivePolicy"], name


def test_an_email_subscription_by_context_also_has_a_dead_letter_queue(tmp_path: Path) -> None:
    template = synth(tmp_path, answersEmail="ops@example.com")
    emails = [
        s
        for s in of_type(template, "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    assert len(emails) == 1
    assert "RedrivePolicy" in emails[0]["Properties"]


def _metrics_of(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) of an alarm, whether on one metric or on metric math."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {(properties["Namespace"], properties["MetricName"])}
    return {
        (query["MetricStat"]["Metric"]["Namespace"], query["MetricStat"]["Metric"]["MetricName"])
        for query in properties["Metrics"]
        if "MetricStat" in query
    }


def test_alarms_page_for_what_is_wrong_not_for_handled_errors(
    template: dict[str, Any],
) -> None:
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    by_name = {name: alarm for name, alarm in alarms.items()}
    metrics = set().union(*(_metrics_of(a) for a in alarms.values()))
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/States", "ExecutionsTimedOut") in metrics
    queues = [
        a
        for a in alarms.values()
        if _metrics_of(a) == {("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    ]
    assert len(queues) == len(of_type(template, "AWS::SQS::Queue"))
    # No alarm on a single Lambda error: a rejected question or a retried model call is one,
    # and the workflow handles it. Errors page only as a share of the unguarded functions'.
    for alarm in alarms.values():
        properties = alarm["Properties"]
        assert properties.get("MetricName") != "Errors"
    rates = {n: a for n, a in by_name.items() if "ErrorRate" in n}
    assert {n.split("ErrorRate")[0].removeprefix("Monitoring") for n in rates} == {
        "Api",
        "StartWorkflow",
        "NotifyUser",
        "Websocket",
    }
    for alarm in rates.values():
        expression = next(
            q["Expression"] for q in alarm["Properties"]["Metrics"] if "Expression" in q
        )
        assert expression == "IF(FILL(t, 0) >= 20, FILL(e, 0) / FILL(t, 0), 0)"
        assert alarm["Properties"]["Threshold"] == 0.05
    [failures] = [a for n, a in by_name.items() if "QuestionFailureRate" in n]
    assert _metrics_of(failures) == {
        ("ToroAssistant", "QuestionsFailed"),
        ("ToroAssistant", "QuestionsAnswered"),
    }
    assert failures["Properties"]["Threshold"] == 0.2
    [api] = [a for n, a in by_name.items() if "Api5xxRate" in n]
    assert _metrics_of(api) == {("AWS/ApiGateway", "5XXError"), ("AWS/ApiGateway", "Count")}
    [throttles] = [a for n, a in by_name.items() if n.startswith("MonitoringThrottles")]
    assert len(_metrics_of(throttles)) == 1 and throttles["Properties"]["Threshold"] == 5
    assert all(a["Properties"]["AlarmActions"] for a in alarms.values())
    assert of_type(template, "AWS::CloudWatch::Dashboard")


def test_secrets_stay_out_of_the_template(template: dict[str, Any]) -> None:
    secrets = of_type(template, "AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
    text = json.dumps(template)
    assert 'OPENAI_API_KEY"' not in text and 'TOKEN_SIGNING_KEY"' not in text
    for fn in of_type(template, "AWS::Lambda::Function").values():
        variables = fn["Properties"]["Environment"]["Variables"]
        assert "OPENAI_API_KEY" not in variables and "TOKEN_SIGNING_KEY" not in variables
        # Deployed functions never count as development (which would allow a default key).
        assert not AuthSettings(environment=variables["ENVIRONMENT"]).is_development


def test_the_api_is_throttled_traced_logged_and_outputs_are_exported(
    template: dict[str, Any],
) -> None:
    [stage] = of_type(template, "AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "dev"
    assert properties["TracingEnabled"] is True
    [methods] = properties["MethodSettings"]
    assert (methods["ThrottlingRateLimit"], methods["ThrottlingBurstLimit"]) == (50, 100)
    assert methods["LoggingLevel"] == "ERROR" and methods["DataTraceEnabled"] is False
    assert '"ip":"$context.identity.sourceIp"' in properties["AccessLogSetting"]["Format"].replace(
        " ", ""
    )
    [api] = of_type(template, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    # The account's logging role outlives the stack: other REST APIs in the region use it.
    [role] = [r for n, r in template["Resources"].items() if n.startswith("ApiRestApiCloudWatch")]
    assert role["DeletionPolicy"] == "Retain"
    assert set(template["Outputs"]) >= {
        "ApiUrl",
        "StateMachineArn",
        "TableName",
        "QuestionsTopicArn",
        "AnswersTopicArn",
        "StateMachineConsoleUrl",
    }


def test_a_waf_rate_rule_guards_the_sign_in_routes_of_the_stage(template: dict[str, Any]) -> None:
    [acl] = of_type(template, "AWS::WAFv2::WebACL").values()
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL"
    assert properties["DefaultAction"] == {"Allow": {}}
    [rule] = [r for r in properties["Rules"] if r["Name"] == "SignInRateLimit"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (
        300,
        300,
        "IP",
    )
    match = rate["ScopeDownStatement"]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"UriPath": {}}
    assert (match["PositionalConstraint"], match["SearchString"]) == ("CONTAINS", "/api/v1/auth/")
    blocked = rule["Action"]["Block"]["CustomResponse"]
    assert blocked["ResponseCode"] == 429
    assert blocked["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    body = json.loads(properties["CustomResponseBodies"]["rateLimited"]["Content"])
    assert body["error"]["code"] == "rate_limited"  # the API's own error shape
    [association] = of_type(template, "AWS::WAFv2::WebACLAssociation").values()
    [stage_name] = of_type(template, "AWS::ApiGateway::Stage")
    assert stage_name in json.dumps(association["Properties"]["ResourceArn"])
    assert "ApiWebAcl" in json.dumps(association["Properties"]["WebACLArn"])


def test_the_waf_is_configurable_and_can_be_turned_off(tmp_path: Path) -> None:
    tighter = synth(tmp_path / "tight", wafSignInRateLimit=100, wafEvaluationWindowSeconds=60)
    [acl] = of_type(tighter, "AWS::WAFv2::WebACL").values()
    rate = acl["Properties"]["Rules"][0]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"]) == (100, 60)
    off = synth(tmp_path / "off", wafEnabled=False)
    assert not of_type(off, "AWS::WAFv2::WebACL")
    assert not of_type(off, "AWS::WAFv2::WebACLAssociation")
    with pytest.raises(ValueError, match="wafEvaluationWindowSeconds"):
        synth(tmp_path / "bad", wafEvaluationWindowSeconds=90)
    with pytest.raises(ValueError, match="wafSignInRateLimit"):
        synth(tmp_path / "low", wafSignInRateLimit=5)


def test_the_longest_stage_allowed_keeps_every_name_within_aws_limits(tmp_path: Path) -> None:
    from cdk_app.config import MAX_STAGE_LENGTH

    longest = synth(tmp_path / "long", stage="s" * MAX_STAGE_LENGTH)
    names = [
        f["Properties"]["FunctionName"] for f in of_type(longest, "AWS::Lambda::Function").values()
    ]
    assert max(len(name) for name in names) == 64
    [machine] = of_type(longest, "AWS::StepFunctions::StateMachine").values()
    assert len(machine["Properties"]["StateMachineName"]) <= 80
    with pytest.raises(ValueError, match="at most"):
        synth(tmp_path / "longer", stage="s" * (MAX_STAGE_LENGTH + 1))


def test_a_bad_stage_or_workflow_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workflowType"):
        synth(tmp_path, workflowType="FAST")
    with pytest.raises(ValueError, match="stage"):
        synth(tmp_path, stage="prod-1")


def _service_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in document["Statement"]
        if s["Effect"] == "Allow" and "Service" in s.get("Principal", {})
    ]


def test_cloudwatch_alarms_may_publish_to_the_alarm_topic(template: dict[str, Any]) -> None:
    [alarm_topic] = [
        name
        for name, topic in of_type(template, "AWS::SNS::Topic").items()
        if "alarms" in json.dumps(topic["Properties"]["TopicName"])
    ]
    [policy] = [
        p
        for p in of_type(template, "AWS::SNS::TopicPolicy").values()
        if {"Ref": alarm_topic} in p["Properties"]["Topics"]
    ]
    [allowed] = _service_statements(policy["Properties"]["PolicyDocument"])
    assert allowed["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allowed["Action"] == "sns:Publish"
    assert allowed["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(allowed["Condition"]["ArnLike"]["aws:SourceArn"])


def test_services_use_the_keys_only_for_this_account_and_what_they_need(
    template: dict[str, Any],
) -> None:
    services = set()
    for key in of_type(template, "AWS::KMS::Key").values():
        for statement in _service_statements(key["Properties"]["KeyPolicy"]):
            services.add(statement["Principal"]["Service"])
            assert sorted(_actions(statement)) == ["kms:Decrypt", "kms:GenerateDataKey*"]
            conditions = statement["Condition"]
            assert conditions["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            assert "aws:SourceArn" in conditions["ArnLike"]
    assert services == {"cloudwatch.amazonaws.com", "sns.amazonaws.com"}


def test_secrets_are_kept_with_the_table_when_the_stage_is_protected(
    template: dict[str, Any], tmp_path: Path
) -> None:
    for secret in of_type(template, "AWS::SecretsManager::Secret").values():
        assert secret["DeletionPolicy"] == "Delete"
    protected = synth(tmp_path, deletionProtection=True)
    for secret in of_type(protected, "AWS::SecretsManager::Secret").values():
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_memory_follows_what_each_function_does(template: dict[str, Any]) -> None:
    memory = {
        f["Properties"]["FunctionName"].removeprefix("toro-dev-"): f["Properties"]["MemorySize"]
        for f in of_type(template, "AWS::Lambda::Function").values()
    }
    assert memory["api"] == 1024  # argon2: 64 MiB a hash, two at once, and the CPU for them
    assert memory["call-openai"] == 256  # billed for the model's whole wait
    assert {m for name, m in memory.items() if name not in ("api", "call-openai")} == {512}


def _function_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, function)] = [
        (k, v)
        for k, v in of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"].endswith("-" + name.replace("_", "-"))
    ]
    return logical_id, function


def _actions_of_role(template: dict[str, Any], role: str) -> set[str]:
    actions: set[str] = set()
    for policy in of_type(template, "AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found = statement["Action"]
                actions |= {found} if isinstance(found, str) else set(found)
    return actions


def test_the_recovery_sweeper_runs_every_minute_with_what_it_needs(
    template: dict[str, Any],
) -> None:
    _, function = _function_named(template, "sweep_open_questions")
    environment = function["Properties"]["Environment"]["Variables"]
    assert {"TABLE_NAME", "STATE_MACHINE_ARN", "QUESTIONS_TOPIC_ARN", "ANSWERS_TOPIC_ARN"} <= set(
        environment
    )
    [schedule] = of_type(template, "AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "rate(1 minute)"
    assert properties["State"] == "ENABLED"
    target = properties["Target"]
    # The published version, through the function's alias, as the workflow's tasks.
    [alias] = [target["Arn"]["Ref"]]
    assert template["Resources"][alias]["Type"] == "AWS::Lambda::Alias"
    assert alias.startswith("ComputeSweepOpenQuestions")
    assert json.loads(target["Input"])["source"] == "toro.sweeper"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    assert "DeadLetterConfig" in target
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = _actions_of_role(template, role)
    assert "states:DescribeExecution" in actions
    assert "sns:Publish" in actions
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:GetItem"} <= actions
    # It pages when it had anything to recover.
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    [recovered] = [a for n, a in alarms.items() if "QuestionsRecovered" in n]
    assert _metrics_of(recovered) == {
        ("ToroAssistant", "QuestionsResent"),
        ("ToroAssistant", "QuestionsFailedBySweeper"),
    }
    assert recovered["Properties"]["Threshold"] == 1


def test_the_sweeper_interval_and_the_retention_are_settings(tmp_path: Path) -> None:
    template = synth(tmp_path, sweeperIntervalMinutes=5, recordTtlDays=90)
    [schedule] = of_type(template, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    for function in of_type(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["RECORD_TTL_DAYS"] == "90"
    with pytest.raises(ValueError, match="sweeperIntervalMinutes"):
        synth(tmp_path / "bad", sweeperIntervalMinutes=0)


def test_records_are_kept_unless_a_retention_is_set(template: dict[str, Any]) -> None:
    for function in of_type(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["RECORD_TTL_DAYS"] == "0"


def test_updates_are_pushed_through_a_websocket_api_with_least_privilege(
    template: dict[str, Any],
) -> None:
    [api] = of_type(template, "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {
        r["Properties"]["RouteKey"] for r in of_type(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert routes == {"$connect", "$disconnect", "$default", "keepalive"}
    [stage] = of_type(template, "AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["DefaultRouteSettings"]["ThrottlingRateLimit"] == 50
    assert properties["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 100
    assert properties["DefaultRouteSettings"]["DetailedMetricsEnabled"] is True
    assert "DestinationArn" in properties["AccessLogSettings"]
    # Only the two functions that push may post to connections, and only on this stage.
    posting = []
    for name in ("validate_question", "notify_user", "persist_answer", "api"):
        _, function = _function_named(template, name)
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        if "execute-api:ManageConnections" in _actions_of_role(template, role):
            posting.append(name)
        variables = function["Properties"]["Environment"]["Variables"]
        assert ("WEBSOCKET_ENDPOINT" in variables) == (name in ("validate_question", "notify_user"))
    assert posting == ["validate_question", "notify_user"]
    # The API tells clients where to connect; the WebSocket function checks tickets with the key.
    _, api_function = _function_named(template, "api")
    assert "WEBSOCKET_URL" in api_function["Properties"]["Environment"]["Variables"]
    _, websocket = _function_named(template, "websocket")
    assert "TOKEN_SIGNING_KEY_SECRET_NAME" in websocket["Properties"]["Environment"]["Variables"]
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    assert any("PushFailures" in name for name in alarms)
    assert any("WebsocketErrorRate" in name for name in alarms)
