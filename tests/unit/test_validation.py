from __future__ import annotations

import pytest

from core.errors import InvalidQuestion
from core.validation import clean_question


def test_trims_and_keeps_line_breaks() -> None:
    assert clean_question("  O que é CDB?\n\tE LCI?  ", max_chars=100) == "O que é CDB?\n\tE LCI?"


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \r\n"])
def test_empty_or_whitespace_only_is_rejected(text: str) -> None:
    with pytest.raises(InvalidQuestion) as raised:
        clean_question(text, max_chars=100)
    assert raised.value.code == "question_empty"


def test_length_counts_after_trimming() -> None:
    assert clean_question("  " + "a" * 10 + "  ", max_chars=10) == "a" * 10
    with pytest.raises(InvalidQuestion) as raised:
        clean_question("a" * 11, max_chars=10)
    assert raised.value.code == "question_too_long"
    assert "11" in raised.value.message


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_rejected(char: str) -> None:
    with pytest.raises(InvalidQuestion) as raised:
        clean_question(f"What is {char}an ETF?", max_chars=100)
    assert raised.value.code == "question_control_character"


def test_accents_and_emoji_are_fine() -> None:
    text = "Ação, FII ou ETF? 📈"
    assert clean_question(text, max_chars=100) == text
