"""What a new password must be (NIST SP 800-63B): long enough once normalised, not blank, no
control characters, and not common or easily guessed, as judged by zxcvbn (Dropbox's estimator),
which also counts the username and the service's own name against it.

Only registration applies this; logging in with a password chosen under older rules still works.
"""

from __future__ import annotations

import unicodedata

from core.errors import WeakPassword

MIN_CHARS = 8
MAX_CHARS = 128
# zxcvbn's 0-4: 0 and 1 are "too guessable" and "very guessable"; 2 resists online guessing
# under this service's throttling.
MIN_SCORE = 2
SERVICE_WORDS = ("toro", "assistant", "toro-assistant", "broker")


def normalise(password: str) -> str:
    """NFKC, as NIST asks, so that look-alike forms count as the same characters."""
    return unicodedata.normalize("NFKC", password)


def check_new_password(password: str, username: str) -> str:
    """The password if it may be used for a new account; WeakPassword saying why if not."""
    normalised = normalise(password)
    if any(unicodedata.category(char) == "Cc" for char in normalised):
        raise WeakPassword("The password contains a control character.")
    if not normalised.strip():
        raise WeakPassword("The password cannot be only spaces.")
    if len(normalised) < MIN_CHARS:
        raise WeakPassword(f"The password needs at least {MIN_CHARS} characters.")
    if len(normalised) > MAX_CHARS:
        raise WeakPassword(f"The password can have at most {MAX_CHARS} characters.")
    from zxcvbn import zxcvbn

    # zxcvbn refuses anything past 72 characters unless told otherwise; 128 takes it ~0.1 s.
    verdict = zxcvbn(normalised, user_inputs=[username, *SERVICE_WORDS], max_length=MAX_CHARS)
    if verdict["score"] < MIN_SCORE:
        warning = verdict["feedback"].get("warning") or "It is too easy to guess."
        raise WeakPassword(f"The password is too easy to guess: {warning.rstrip('.')}.")
    return password
