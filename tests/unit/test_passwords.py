"""What a new password must be, at each limit, and what the refusal says."""

from __future__ import annotations

import pytest

from core.errors import WeakPassword
from core.passwords import MAX_CHARS, MIN_CHARS, check_new_password

LONGEST = ("purple-otter-galaxy-" * 7)[:MAX_CHARS]
# "purple-otter" in full-width letters: judged once normalised (NFKC), kept as typed.
FULL_WIDTH = "\uff50\uff55\uff52\uff50\uff4c\uff45-\uff4f\uff54\uff54\uff45\uff52"


@pytest.mark.parametrize(
    "password",
    [
        "vq7#Lm2x",  # exactly the minimum
        LONGEST,  # exactly the maximum, past zxcvbn's own default of 72
        "  purple-otter-galaxy  ",  # spaces around are part of it
        FULL_WIDTH,
    ],
)
def test_a_strong_password_within_the_limits_is_returned_as_typed(password: str) -> None:
    assert check_new_password(password, "carla") == password


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("vq7#Lm2", f"The password needs at least {MIN_CHARS} characters."),
        ("x" + LONGEST, "The password can have at most 128 characters."),
        ("purple\x00otter-galaxy", "The password contains a control character."),
        ("\u3000" * 10, "The password cannot be only spaces."),  # ideographic spaces
        ("password1", "The password is too easy to guess: This is a very common password."),
        (
            "carlacarla1",
            "The password is too easy to guess: Repeats like "
            '"abcabcabc" are only slightly harder to guess than "abc".',
        ),
        # zxcvbn gives no warning for the username and a year: the message says it plainly.
        ("carla2024", "The password is too easy to guess: It is too easy to guess."),
    ],
)
def test_a_weak_password_is_refused_saying_why(password: str, message: str) -> None:
    with pytest.raises(WeakPassword) as raised:
        check_new_password(password, "carla")
    assert raised.value.message == message
