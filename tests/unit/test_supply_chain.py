"""``make audit``: both lock files checked, an unauditable package an error, not in the tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
    workflow = yaml.safe_load((ROOT / ".github/workflows/audit.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers
    assert set(triggers["pull_request"]["paths"]) == {"requirements.lock", "package-lock.json"}
    steps = workflow["jobs"]["audit"]["steps"]
    assert {"run": "make audit"} in steps
    assert workflow["permissions"] == {"contents": "read"}
