"""Forgetting everything a process has built (tests change the environment between cases)."""

from __future__ import annotations

import sys

from core import accounts, answering, knowledge, questions, steps


def clear_caches() -> None:
    steps.clear_caches()
    questions.clear_caches()
    answering.clear_caches()
    accounts.SESSIONS.clear()
    knowledge.get_knowledge_base.cache_clear()
    # The retriever is built only where retrieval runs; importing it here would load numpy.
    retrieval = sys.modules.get("core.retrieval")
    if retrieval is not None:
        retrieval.forget_retriever()
