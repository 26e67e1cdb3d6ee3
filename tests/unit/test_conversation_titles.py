"""A conversation's title: the first question on one line, at most 80 characters."""

from __future__ import annotations

import pytest

from core.conversations import TITLE_MAX_CHARS, title_of


def test_a_short_question_is_its_own_title_on_one_line() -> None:
    assert title_of("  O que é\n um  CDB?\t") == "O que é um CDB?"


def test_a_question_of_exactly_the_limit_is_kept_whole() -> None:
    text = "a" * (TITLE_MAX_CHARS - 2) + " b"
    assert title_of(text) == text


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # Cut at the last word that fits in 79 characters, then the ellipsis.
        ("Selic " * 20, ("Selic " * 13).rstrip() + "…"),
        # Punctuation left at the cut goes.
        ("a" * 70 + ", " + "b" * 20, "a" * 70 + "…"),
        ("a" * 70 + "; " + "b" * 20, "a" * 70 + "…"),
        # Punctuation that opens the question stays.
        ("...e se " + "Selic " * 20, "...e se " + ("Selic " * 11).rstrip() + "…"),
        # One word longer than the limit is cut inside the word.
        ("X" * 100, "X" * (TITLE_MAX_CHARS - 1) + "…"),
    ],
)
def test_a_long_question_is_cut_at_a_word_with_an_ellipsis(text: str, title: str) -> None:
    assert title_of(text) == title
    assert len(title) <= TITLE_MAX_CHARS
