"""``make audit``: both lock files checked, an unauditable package an error, not in the tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]


def dry_run(target: str) -> str:
    make = shutil.which("make")
    assert make is not None
    done = subprocess.run(
        [make, "-n", target], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def test_make_audit_checks_the_python_lock_strictly_and_the_cdk_cli_lock() -> None:
    commands = dry_run("audit")
    assert "pip-audit -r requirements.lock" in commands
    # A package the database does not know fails the audit instead of passing unaudited.
    assert "--strict" in commands
    assert "npm audit --package-lock-only" in commands
    assert "exit $status" in commands  # both run; either failing fails the target


def test_the_audit_is_not_part_of_the_test_command() -> None:
    commands = dry_run("test")
    assert "pip-audit" not in commands
    assert "npm audit " not in commands


def test_the_audit_workflow_runs_make_audit_weekly_and_when_a_lock_changes() -> None:
    audit = workflow("audit.yml")
    triggers = audit[True]
    assert "schedule" in triggers
    assert set(triggers["pull_request"]["paths"]) == {"requirements.lock", "package-lock.json"}
    steps = audit["jobs"]["audit"]["steps"]
    assert {"run": "make audit"} in steps
    assert audit["permissions"] == {"contents": "read"}


def workflow(name: str) -> dict[Any, Any]:
    """A workflow file as data (YAML 1.1 reads the key ``on`` as true)."""
    loaded: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows" / name).read_text())
    return loaded


def test_ci_runs_the_test_command_on_pushes_and_pull_requests_then_synth_and_cfn_lint() -> None:
    ci = workflow("ci.yml")
    triggers = ci[True]
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    jobs = ci["jobs"]
    assert {"run": "make test"} in jobs["test"]["steps"]
    runs = [step.get("run", "") for step in jobs["synth"]["steps"]]
    assert any("make synth" in r for r in runs)
    assert ".venv/bin/cfn-lint cdk.out/*.template.json" in runs  # fails on warnings too
    for job in ("test", "synth"):  # the venv and npm are cached
        uses = [step.get("uses", "") for step in jobs[job]["steps"]]
        assert any(u.startswith("actions/cache@") for u in uses), job
        node = next(
            s for s in jobs[job]["steps"] if s.get("uses", "").startswith("actions/setup-node")
        )
        assert node["with"]["cache"] == "npm"
    assert ci["permissions"] == {"contents": "read"}


def test_the_deploy_is_manual_and_assumes_a_role_through_oidc() -> None:
    deploy = workflow("ci.yml")["jobs"]["deploy"]
    assert deploy["if"] == "github.event_name == 'workflow_dispatch'"
    assert set(deploy["needs"]) == {"test", "synth"}
    assert deploy["permissions"]["id-token"] == "write"
    credentials = next(
        s for s in deploy["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws")
    )
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    last = deploy["steps"][-1]
    # The stage goes through the environment, never pasted into the shell script.
    assert "${{" not in last["run"] and last["env"]["STAGE"] == "${{ inputs.stage }}"


def test_the_synth_job_makes_the_dispatched_stage_and_the_deploy_job_deploys_that_artifact() -> (
    None
):
    jobs = workflow("ci.yml")["jobs"]
    synth, deploy = jobs["synth"], jobs["deploy"]
    assert synth["env"]["STAGE"] == "${{ inputs.stage || 'dev' }}"
    make = next(s["run"] for s in synth["steps"] if "make synth" in s.get("run", ""))
    assert 'make synth STAGE="$STAGE"' in make and "${{" not in make
    assert 'cdk synth --quiet --no-notices -c stage="$STAGE"' in dry_run("synth")
    upload = next(s for s in synth["steps"] if "upload-artifact@" in s.get("uses", ""))
    assert upload["with"]["name"] == "cdk.out-${{ env.STAGE }}"
    assert upload["with"]["path"] == "cdk.out"
    download = next(s for s in deploy["steps"] if "download-artifact@" in s.get("uses", ""))
    assert download["with"] == {"name": "cdk.out-${{ inputs.stage }}", "path": "cdk.out"}
    runs = " ".join(step.get("run", "") for step in deploy["steps"])
    assert "cdk deploy --app cdk.out --require-approval never" in runs
    # No second build: neither make, nor Python, in the deploy job.
    assert "make " not in runs and "python" not in runs
    assert not any("setup-python" in step.get("uses", "") for step in deploy["steps"])


PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def test_every_action_is_pinned_by_commit_with_its_release_beside_it() -> None:
    files = sorted((ROOT / ".github/workflows").glob("*.yml"))
    assert len(files) >= 2
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s*-?\s*uses:", line):
                assert PINNED.match(line), f"{path.name}:{number}: {line.strip()}"


def test_actionlint_is_built_at_a_pinned_version_not_piped_into_a_shell() -> None:
    text = (ROOT / ".github/workflows/ci.yml").read_text()
    assert "curl" not in text and "| bash" not in text and "bash <(" not in text
    runs = [step.get("run", "") for step in workflow("ci.yml")["jobs"]["synth"]["steps"]]
    lint = next(r for r in runs if "actionlint" in r)
    assert "go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12" in lint
    assert "/bin/actionlint" in lint


def test_make_lint_checks_the_workflows_against_githubs_schema(tmp_path: Path) -> None:
    assert "check-jsonschema --builtin-schema vendor.github-workflows" in dry_run("lint")
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    step: []\n")
    checker = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout
