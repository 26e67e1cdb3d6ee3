"""Forgetting everything a process has built (tests change the environment between cases)."""

from __future__ import annotations

from core import questions, steps


def clear_caches() -> None:
    steps.clear_caches()
    questions.clear_caches()
