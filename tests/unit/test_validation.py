from __future__ import annotations

import pytest

from core.errors import InvalidQuestion
from core.validation import clean_question


@pytest.mark.parametrize("blanks", [" ", "  ", "   "])
def test_trims_and_keeps_line_breaks(blanks: str) -> None:
    text = f"{blanks}O que é CDB?\n\tE LCI?{blanks}"
    assert clean_question(text, max_chars=100) == "O que é CDB?\n\tE LCI?"


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \r\n"])
def test_empty_or_whitespace_only_is_rejected(text: str) -> None:
    with pytest.raises(InvalidQuestion) as raised:
        clean_question(text, max_chars=100)
    assert raised.value.code == "question_empty"
    assert raised.value.message == "The question is empty."


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


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060"])
def test_invisible_format_characters_count_as_white_space(invisible: str) -> None:
    assert clean_question(f"{invisible} O que é CDB? {invisible}", max_chars=100) == "O que é CDB?"
    with pytest.raises(InvalidQuestion) as raised:
        clean_question(invisible * 3 + " ", max_chars=100)
    assert raised.value.code == "question_empty"


def test_invisible_characters_inside_the_question_stay() -> None:
    assert clean_question("CDB\u200bLCI", max_chars=100) == "CDB\u200bLCI"


def test_the_length_error_says_the_length_and_the_limit() -> None:
    with pytest.raises(InvalidQuestion) as raised:
        clean_question("a" * 12, max_chars=10)
    assert raised.value.message == "The question has 12 characters; the limit is 10."


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ab\x00c", "The question contains a control character (U+0000) at position 2."),
        ("  \x1b", "The question contains a control character (U+001B) at position 0."),
        # After a line break, which is allowed, the rest is still checked.
        ("a\n\tb\x07", "The question contains a control character (U+0007) at position 4."),
        # A lone surrogate: no character at all, which no encoder can store.
        ("abc\ud800", "The question contains a control character (U+D800) at position 3."),
    ],
)
def test_the_control_character_error_says_which_and_where(text: str, message: str) -> None:
    with pytest.raises(InvalidQuestion) as raised:
        clean_question(text, max_chars=100)
    assert raised.value.message == message
