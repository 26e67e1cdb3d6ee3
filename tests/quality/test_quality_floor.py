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

from eval.run import FLOOR, LOWER_IS_BETTER, load_cases
from tests.toro_dev import clean_environment

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"direct", "paraphrase", "follow_up", "off_topic", "uncovered", "injection", "conversation"}
CHANGES = {"switch", "return", "follow_up", "off_topic"}


def test_the_evaluation_set_is_large_bilingual_and_covers_every_kind() -> None:
    cases = load_cases()
    assert len(cases) >= 100
    assert {case["kind"] for case in cases} == KINDS
    assert len({case["id"] for case in cases}) == len(cases)
    from core.knowledge import get_knowledge_base
    from core.text import detect_language

    known = get_knowledge_base().by_id
    singles = [case for case in cases if case["kind"] != "conversation"]
    assert {detect_language(case["question"]) for case in singles} == {"pt", "en"}
    for case in singles:
        assert set(case.get("expect", [])) <= known.keys(), case["id"]
        assert bool(case.get("decline")) == (case["kind"] in ("off_topic", "uncovered"))
        assert case["kind"] != "injection" or case["forbidden"], case["id"]
        assert case["kind"] != "follow_up" or case["after"], case["id"]


def test_the_conversations_change_subject_return_and_follow_up_in_both_languages() -> None:
    """At least forty whole conversations: every kind of turn, three- and four-turn chains,
    Portuguese, English and both in one conversation."""
    from core.knowledge import get_knowledge_base
    from core.text import detect_language

    known = get_knowledge_base().by_id
    conversations = [case for case in load_cases() if case["kind"] == "conversation"]
    assert len(conversations) >= 40
    languages = [{detect_language(turn["question"]) for turn in c["turns"]} for c in conversations]
    assert {"pt"} in languages and {"en"} in languages and {"pt", "en"} in languages
    assert {len(c["turns"]) for c in conversations} >= {2, 3, 4}
    changes = [turn["change"] for c in conversations for turn in c["turns"]]
    assert set(changes) == CHANGES | {"start"}
    for conversation in conversations:
        first, *later = conversation["turns"]
        assert first["change"] == "start" and all(t["change"] != "start" for t in later)
        for turn in conversation["turns"]:
            assert bool(turn.get("decline")) == (turn["change"] == "off_topic"), conversation
            assert turn.get("decline") or set(turn["expect"]) <= known.keys(), conversation


def evaluation(workers: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "eval", "--json", "--workers", str(workers)],
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


@pytest.fixture(scope="module")
def scores() -> dict[str, Any]:
    return evaluation(workers=6)


def test_offline_scores_hold_the_recorded_floor(scores: dict[str, Any]) -> None:
    floor = json.loads(FLOOR.read_text(encoding="utf-8"))
    below = {
        name: (scores[name], bound)
        for name, bound in floor.items()
        if name != "description"
        and (scores[name] > bound if name in LOWER_IS_BETTER else scores[name] < bound)
    }
    assert not below, f"past the floor (score, floor): {below}; missed: {scores['failures']}"
    assert scores["model"] == "toro-offline"
    assert scores["cases"] == len(load_cases())


def test_the_evaluation_gives_the_same_judgements_on_every_run(scores: dict[str, Any]) -> None:
    """Asked again, two at a time instead of six, every case gets the same judgement: the same
    status, sources, entries retrieved, decision, cache use and answer text."""
    again = evaluation(workers=2)
    differ = {
        case: (outcome, again["outcomes"].get(case))
        for case, outcome in scores["outcomes"].items()
        if again["outcomes"].get(case) != outcome
    }
    assert not differ and again["outcomes"].keys() == scores["outcomes"].keys(), differ
