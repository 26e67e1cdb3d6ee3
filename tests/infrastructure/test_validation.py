"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized app: nothing unacknowledged, no errors
or warnings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

from cdk_app.app import build_app


def _asset(tmp: Path) -> str:
    asset = tmp / "asset"
    asset.mkdir(exist_ok=True)
    (asset / "placeholder.py").write_text("# the real code comes from `make build`\n")
    return str(asset)


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app synthesized with the AwsSolutions pack: synthesis fails on any open finding."""
    tmp = tmp_path_factory.mktemp("nag")
    app = build_app({"assetPath": _asset(tmp)}, outdir=str(tmp / "cdk.out"))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return tmp / "cdk.out"


def test_cdk_nag_finds_nothing_unacknowledged(synthesized: Path) -> None:
    # Synthesis with the AwsSolutions plugin raises on any open finding; it completed.
    assert (synthesized / "ToroAssistant-dev.template.json").is_file()


def test_every_acknowledgment_names_its_finding_and_a_reason(tmp_path: Path) -> None:
    app = build_app({"assetPath": _asset(tmp_path)}, outdir=str(tmp_path / "cdk.out"))
    recorded = [
        entry.data
        for node in app.node.find_all()
        for entry in node.node.metadata
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    ]
    acknowledgments = [rule for data in recorded for rule in _rules(data)]
    assert len(acknowledgments) >= 20
    for rule in acknowledgments:
        # A cdk-nag rule, or a CloudFormation validation warning (cfn-lint's W rules).
        assert rule["id"].startswith(
            ("AwsSolutions::AwsSolutions-", "CloudFormation-Validate::W")
        ), rule
        assert len(rule["reason"]) >= 30, rule


def _rules(data: Any) -> list[dict[str, str]]:
    """Acknowledgment metadata is a mapping of finding id -> reason."""
    assert isinstance(data, dict), data
    return [{"id": str(key), "reason": str(reason)} for key, reason in data.items()]


def test_a_finding_left_open_fails_synthesis(tmp_path: Path) -> None:
    from aws_cdk import Stack
    from aws_cdk import aws_sqs as sqs

    app = build_app({"assetPath": _asset(tmp_path)}, outdir=str(tmp_path / "cdk.out"))
    stack = app.node.children[0]
    assert isinstance(stack, Stack)
    sqs.Queue(stack, "UnencryptedWithoutDeadLetters", encryption=sqs.QueueEncryption.UNENCRYPTED)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="AwsSolutions-SQS3"):
        app.synth()


def test_cfn_lint_reports_no_errors_and_no_warnings(synthesized: Path) -> None:
    # CI runs cfn-lint on the template and fails on a warning as on an error (exit 4).
    template = synthesized / "ToroAssistant-dev.template.json"
    matches = lint_file(template, config=ManualArgs(regions=["us-east-1"]))
    found = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id[0] in "EW"]
    assert found == []
