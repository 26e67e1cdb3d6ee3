"""The offline answer quality stays at or above the recorded floor (eval/floor.json).

Runs ``python -m eval --json`` as ``make eval`` does: every case of the evaluation set through
``toro dev`` and the offline model, over the REST API.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval.run import FLOOR, load_cases
from tests.toro_dev import clean_environment

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"direct", "paraphrase", "follow_up", "off_topic", "uncovered", "injection"}


def test_the_evaluation_set_is_large_bilingual_and_covers_every_kind() -> None:
    cases = load_cases()
    assert len(cases) >= 100
    assert {case["kind"] for case in cases} == KINDS
    assert len({case["id"] for case in cases}) == len(cases)
    from core.knowledge import get_knowledge_base
    from core.text import detect_language

    known = get_knowledge_base().by_id
    assert {detect_language(case["question"]) for case in cases} == {"pt", "en"}
    for case in cases:
        assert set(case.get("expect", [])) <= known.keys(), case["id"]
        assert bool(case.get("decline")) == (case["kind"] in ("off_topic", "uncovered"))
        assert case["kind"] != "injection" or case["forbidden"], case["id"]
        assert case["kind"] != "follow_up" or case["after"], case["id"]


@pytest.fixture(scope="module")
def scores() -> dict[str, Any]:
    done = subprocess.run(
        # Three questions at once, not the runner's six: under load (the whole suite on two
        # cores) one repeat in about forty has missed the answer cache now and then, a
        # nondeterminism still being looked for; fewer at once makes it rarer meanwhile.
        [sys.executable, "-m", "eval", "--json", "--workers", "3"],
        capture_output=True,
        text=True,
        env=clean_environment(),
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_offline_scores_hold_the_recorded_floor(scores: dict[str, Any]) -> None:
    floor = json.loads(FLOOR.read_text(encoding="utf-8"))
    below = {
        name: (scores[name], minimum)
        for name, minimum in floor.items()
        if name != "description" and scores[name] < minimum
    }
    assert not below, f"below the floor (score, floor): {below}; missed: {scores['failures']}"
    assert scores["model"] == "toro-offline"
    assert scores["cases"] == len(load_cases())
