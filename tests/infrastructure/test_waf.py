"""The WAF web ACL on the REST API's stage: per-address rate limits and AWS's managed rule groups,
checked on the synthesized template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.schemas import QuestionCreate
from cdk_app.constructs.api import (
    FREE_TEXT_BODY_RULES,
    SIZE_RESTRICTED_BODY_BYTES,
    SIZE_RESTRICTED_BODY_RULE,
)
from core.settings import get_api_settings, get_settings
from tests.infrastructure.test_stack import of_type, synth

MANAGED = ("AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesCommonRuleSet")
# Web ACL capacity units (AWS's published figures): a web ACL up to 1,500 costs no more.
CAPACITY = {"AWSManagedRulesCommonRuleSet": 700, "AWSManagedRulesKnownBadInputsRuleSet": 200}
RATE_RULE_CAPACITY = 2 + 10 + 10  # the rule, a CONTAINS byte match, one text transformation


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield synth(tmp_path_factory.mktemp("synth"))


def rules_of(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [acl] = of_type(template, "AWS::WAFv2::WebACL").values()
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def test_rate_rules_come_first_then_the_managed_groups_each_with_its_metrics(
    template: dict[str, Any],
) -> None:
    rules = rules_of(template)
    by_priority = sorted(rules.values(), key=lambda rule: rule["Priority"])
    # The first rule that blocks ends the evaluation: the rate rules first see every request.
    assert [rule["Name"] for rule in by_priority] == ["SignInRateLimit", "RateLimit", *MANAGED]
    assert len({rule["Priority"] for rule in by_priority}) == len(by_priority)
    metrics = [rule["VisibilityConfig"]["MetricName"] for rule in by_priority]
    assert len(set(metrics)) == len(metrics)
    for rule in by_priority:
        visibility = rule["VisibilityConfig"]
        assert visibility["CloudWatchMetricsEnabled"] is True, rule["Name"]
        assert visibility["SampledRequestsEnabled"] is True, rule["Name"]
    assert sum(CAPACITY.values()) + 2 * RATE_RULE_CAPACITY <= 1500


def test_aws_managed_groups_act_as_aws_maintains_them(template: dict[str, Any]) -> None:
    rules = rules_of(template)
    for group in MANAGED:
        rule = rules[group]
        statement = rule["Statement"]["ManagedRuleGroupStatement"]
        assert (statement["VendorName"], statement["Name"]) == ("AWS", group)
        # The group's own actions (block), not all of them turned into counts.
        assert rule["OverrideAction"] == {"None": {}}
        assert "Action" not in rule
    known_bad = rules["AWSManagedRulesKnownBadInputsRuleSet"]["Statement"]
    assert "RuleActionOverrides" not in known_bad["ManagedRuleGroupStatement"]
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    # Only the body size rule and the body patterns a free-text question may match count
    # instead of blocking.
    assert common["RuleActionOverrides"] == [
        {"Name": rule, "ActionToUse": {"Count": {}}}
        for rule in (SIZE_RESTRICTED_BODY_RULE, *FREE_TEXT_BODY_RULES)
    ]
    assert {rule.removesuffix("_BODY") for rule in FREE_TEXT_BODY_RULES} == {
        "CrossSiteScripting",
        "GenericLFI",
        "EC2MetaDataSSRF",
    }


def test_a_legitimate_question_may_be_larger_than_the_common_sets_body_limit(
    template: dict[str, Any],
) -> None:
    """The longest question the API accepts, in accented letters, as Python's json.dumps sends
    it (\\u escapes): over the 8 KB that SizeRestrictions_BODY blocks, within the API's limit.
    So the WAF counts that rule's matches and the API's own 413 applies."""
    longest = get_settings().question_max_chars
    body = json.dumps({"question": "ç" * longest}).encode()
    assert QuestionCreate.model_validate_json(body).question == "ç" * longest
    assert SIZE_RESTRICTED_BODY_BYTES < len(body) <= get_api_settings().max_body_bytes
    overrides = rules_of(template)["AWSManagedRulesCommonRuleSet"]["Statement"][
        "ManagedRuleGroupStatement"
    ]["RuleActionOverrides"]
    assert {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}} in overrides


def test_one_address_is_held_to_a_general_rate_with_the_apis_error_shape(
    template: dict[str, Any],
) -> None:
    rule = rules_of(template)["RateLimit"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (
        2000,
        300,
        "IP",
    )
    assert "ScopeDownStatement" not in rate  # every route, the pages too
    blocked = rule["Action"]["Block"]["CustomResponse"]
    assert blocked["ResponseCode"] == 429
    assert blocked["ResponseHeaders"] == [{"Name": "Retry-After", "Value": "300"}]
    [acl] = of_type(template, "AWS::WAFv2::WebACL").values()
    bodies = acl["Properties"]["CustomResponseBodies"]
    body = json.loads(bodies[blocked["CustomResponseBodyKey"]]["Content"])
    assert body["error"]["code"] == "rate_limited"
    assert "sign-in" not in body["error"]["message"]


def test_the_general_rate_is_a_setting_refused_below_the_sign_in_rate(tmp_path: Path) -> None:
    looser = synth(tmp_path / "loose", wafRateLimit=5000, wafEvaluationWindowSeconds=600)
    rate = rules_of(looser)["RateLimit"]["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"]) == (5000, 600)
    with pytest.raises(ValueError, match="wafRateLimit must be between"):
        synth(tmp_path / "low", wafRateLimit=5)
    with pytest.raises(ValueError, match=r"wafRateLimit \(200\).* below wafSignInRateLimit"):
        synth(tmp_path / "below", wafRateLimit=200)
