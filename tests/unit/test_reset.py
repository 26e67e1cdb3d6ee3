"""Forgetting what a process built: what `toro dev`'s reload, the operators' commands and every
test fixture rely on to see a changed environment or knowledge base."""

from __future__ import annotations

import pytest

from core import accounts, answering, knowledge, questions, reset, retrieval, settings


def test_clearing_the_caches_forgets_everything_the_process_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUESTION_MAX_CHARS", "1500")
    reset.clear_caches()
    assert settings.get_settings().question_max_chars == 1500
    base = knowledge.get_knowledge_base()
    retriever = retrieval.get_retriever()
    configs = (questions._idempotency_config(), answering._idempotency_config())
    accounts.SESSIONS.put("ana", "s1", active=True)
    assert accounts.SESSIONS.get("ana", "s1", ttl_seconds=60) is True

    monkeypatch.setenv("QUESTION_MAX_CHARS", "1200")
    reset.clear_caches()

    assert settings.get_settings().question_max_chars == 1200  # the settings are read again
    assert knowledge.get_knowledge_base() is not base
    assert retrieval.get_retriever() is not retriever
    assert questions._idempotency_config() is not configs[0]
    assert answering._idempotency_config() is not configs[1]
    assert accounts.SESSIONS.get("ana", "s1", ttl_seconds=60) is None  # unknown: read again
