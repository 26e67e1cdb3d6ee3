"""The deploy path: `npx cdk` from a fresh clone, each stage's settings, and what CloudFormation
needs in order on a first deploy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdk_app.app import build_app
from cdk_app.config import STAGES, StageConfig, load_context
from tests.infrastructure.test_stack import of_type, synth

ROOT = Path(__file__).resolve().parents[2]
PROTECTED = ("AWS::DynamoDB::GlobalTable", "AWS::SecretsManager::Secret")


def _asset(tmp: Path) -> Path:
    asset = tmp / "asset"
    asset.mkdir(parents=True, exist_ok=True)
    (asset / "placeholder.py").write_text("# the real code comes from `make build`\n")
    return asset


def _without_the_venv() -> dict[str, str]:
    """The environment of a fresh shell (or of CI's deploy job): the venv is not activated, and
    whatever `python` comes first on PATH has no aws_cdk."""
    venv = str(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv)
    )
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`npx cdk synth -c stage=prod`, run as a fresh clone runs it: the CLI runs cdk.json's app."""
    tmp = tmp_path_factory.mktemp("cli")
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists() or shutil.which("node") is None:
        pytest.skip("the CDK CLI is installed by `make install` (npm ci)")
    out = tmp / "cdk.out"
    context = ["-c", "stage=prod", "-c", f"assetPath={_asset(tmp)}"]
    done = subprocess.run(
        [str(cdk), "synth", "--quiet", "--no-notices", "--output", str(out), *context],
        cwd=ROOT,
        env=_without_the_venv(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    template: dict[str, Any] = json.loads((out / "ToroAssistant-prod.template.json").read_text())
    return template


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return synth(tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="module")
def prod_unprotected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """prod with `-c deletionProtection=false` (a string, as the CLI hands it over)."""
    return synth(tmp_path_factory.mktemp("unprotected"), stage="prod", deletionProtection="false")


def test_cdk_json_runs_the_app_with_the_projects_venv() -> None:
    app = json.loads((ROOT / "cdk.json").read_text())["app"]
    assert app.split()[0] == ".venv/bin/python"


def _protection(template: dict[str, Any]) -> dict[str, Any]:
    """Per resource kept by deletion protection: its DeletionPolicy, and the table's own flag."""
    seen: dict[str, Any] = {}
    for kind in PROTECTED:
        for name, resource in of_type(template, kind).items():
            replicas = resource["Properties"].get("Replicas", [{}])
            flags = {r.get("DeletionProtectionEnabled", False) for r in replicas}
            seen[name] = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
            if kind == "AWS::DynamoDB::GlobalTable":
                seen[name] += (flags,)
    assert len(seen) == 4, seen  # the two tables and both secrets
    return seen


def test_a_prod_stage_synthesized_by_the_cli_keeps_its_table_and_secrets(
    prod: dict[str, Any],
) -> None:
    for name, protection in _protection(prod).items():
        assert protection[:2] == ("Retain", "Retain"), name
        if len(protection) == 3:
            assert protection[2] == {True}, name
    assert "toro-prod-call-openai" in json.dumps(prod)


def test_dev_is_not_protected(dev: dict[str, Any]) -> None:
    for name, protection in _protection(dev).items():
        assert protection[:2] == ("Delete", "Delete"), name
        if len(protection) == 3:
            assert protection[2] == {False}, name


def test_an_explicit_deletion_protection_false_wins_over_the_stage(
    prod_unprotected: dict[str, Any],
) -> None:
    assert "toro-prod-call-openai" in json.dumps(prod_unprotected)
    for name, protection in _protection(prod_unprotected).items():
        assert protection[:2] == ("Delete", "Delete"), name


def test_any_stage_but_dev_is_protected_by_default() -> None:
    settings = load_context("staging")
    assert not (STAGES / "staging.json").exists()
    assert settings["deletionProtection"] is None
    assert StageConfig.from_context({**settings, "stage": "staging"}.get).deletion_protection
    assert not StageConfig.from_context(load_context("dev").get).deletion_protection


def test_each_stage_file_overrides_the_defaults_and_a_misspelt_setting_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "defaults.json").write_text('{"alarmEmail": "", "logRetentionDays": 30}')
    (tmp_path / "prod.json").write_text('{"alarmEmail": "ops@example.com"}')
    (tmp_path / "qa.json").write_text('{"alarmEmial": "ops@example.com"}')
    assert load_context("prod", tmp_path) == {
        "alarmEmail": "ops@example.com",
        "logRetentionDays": 30,
        "stage": "prod",
    }
    alarm_email = StageConfig.from_context(
        {**load_context("prod"), **load_context("prod", tmp_path)}.get
    ).alarm_email
    assert alarm_email == "ops@example.com"
    with pytest.raises(ValueError, match="alarmEmial"):
        load_context("qa", tmp_path)
    with pytest.raises(ValueError, match="letters and digits"):
        load_context("../etc", tmp_path)


def test_every_committed_stage_file_names_only_known_settings() -> None:
    for path in STAGES.glob("*.json"):
        if path.stem != "defaults":
            assert load_context(path.stem)["stage"] == path.stem


def test_the_websocket_stage_waits_for_the_accounts_logging_role(dev: dict[str, Any]) -> None:
    (account,) = of_type(dev, "AWS::ApiGateway::Account")
    (stage,) = of_type(dev, "AWS::ApiGatewayV2::Stage").values()
    assert "AccessLogSettings" in stage["Properties"]
    assert account in stage.get("DependsOn", [])


def test_functions_and_the_state_machine_depend_on_their_roles_policy_not_twice_on_the_role(
    dev: dict[str, Any],
) -> None:
    kinds = ("AWS::Lambda::Function", "AWS::StepFunctions::StateMachine")
    for kind in kinds:
        for name, resource in of_type(dev, kind).items():
            props = resource["Properties"]
            role = (props.get("Role") or props["RoleArn"])["Fn::GetAtt"][0]
            depends = resource.get("DependsOn", [])
            assert role not in depends, name
            policies = [
                p
                for p, policy in of_type(dev, "AWS::IAM::Policy").items()
                if {"Ref": role} in policy["Properties"]["Roles"]
            ]
            assert set(policies) <= set(depends), name


def _notes(tmp: Path, **context: Any) -> list[str]:
    """What `cdk synth` prints about the stack (its annotations), without synthesizing it."""
    app = build_app({"assetPath": str(_asset(tmp)), **context})
    stack = app.node.children[0]
    return [f"{entry.type}: {entry.data}" for entry in stack.node.metadata]


def test_synth_says_what_a_stage_other_than_dev_gets(tmp_path: Path) -> None:
    qa = _notes(tmp_path, stage="qa")
    assert any("info" in n and "deletionProtection=true by default" in n for n in qa)
    assert any("warning" in n and "no alarmEmail" in n for n in qa)
    unprotected = _notes(tmp_path, stage="prod", deletionProtection="false")
    assert any("warning" in n and "deletionProtection=false" in n for n in unprotected)
    subscribed = _notes(tmp_path, stage="prod", alarmEmail="ops@example.com")
    assert not any("alarmEmail" in n or "deletionProtection" in n for n in subscribed)
    assert not any("toro" in n for n in _notes(tmp_path))  # dev: nothing to say
