"""Checks a question must pass before anyone pays for an answer."""

from __future__ import annotations

import unicodedata

from core.errors import InvalidQuestion

# Line breaks and tabs are ordinary in a question; every other control character is not.
_ALLOWED_CONTROLS = frozenset("\n\r\t")


def _blank(char: str) -> bool:
    """White space, or an invisible format character (U+200B, U+FEFF, ...: category Cf)."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def clean_question(text: str, *, max_chars: int) -> str:
    """The question trimmed, or InvalidQuestion saying what is wrong with it.

    Invisible format characters count as white space: a question made only of them is empty,
    and they are trimmed from both ends like spaces.
    """
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    cleaned = text[start:end]
    if not cleaned:
        raise InvalidQuestion("The question is empty.", code="question_empty")
    if len(cleaned) > max_chars:
        raise InvalidQuestion(
            f"The question has {len(cleaned)} characters; the limit is {max_chars}.",
            code="question_too_long",
        )
    for position, char in enumerate(cleaned):
        if char in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidQuestion(
                f"The question contains a control character (U+{ord(char):04X}) "
                f"at position {position}.",
                code="question_control_character",
            )
    return cleaned
