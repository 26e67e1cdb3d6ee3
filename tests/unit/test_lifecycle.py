from __future__ import annotations

import pytest

from core.models import FINAL_STATUSES, TRANSITIONS, QuestionStatus, sources_of

S = QuestionStatus


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.PENDING, S.PROCESSING),
        (S.PENDING, S.REJECTED),
        (S.PENDING, S.FAILED),
        (S.PROCESSING, S.ANSWERED),
        (S.PROCESSING, S.FAILED),
    ],
)
def test_allowed_transitions(source: QuestionStatus, target: QuestionStatus) -> None:
    assert target in TRANSITIONS[source]
    assert source in sources_of(target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.PENDING, S.ANSWERED),  # never answered without being processed
        (S.PROCESSING, S.PENDING),  # never backwards
        (S.PROCESSING, S.REJECTED),  # rejection happens before processing
        (S.ANSWERED, S.ANSWERED),  # never answered twice
        (S.ANSWERED, S.FAILED),
        (S.FAILED, S.PROCESSING),
        (S.REJECTED, S.PENDING),
    ],
)
def test_illegal_transitions_are_refused(source: QuestionStatus, target: QuestionStatus) -> None:
    assert target not in TRANSITIONS[source]
    assert source not in sources_of(target)


def test_final_statuses_have_no_way_out() -> None:
    for status in FINAL_STATUSES:
        assert status.is_final
        assert TRANSITIONS[status] == frozenset()
    assert not S.PENDING.is_final
    assert not S.PROCESSING.is_final


def test_every_status_is_reachable_from_pending() -> None:
    reached = {S.PENDING}
    frontier = [S.PENDING]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(S)
