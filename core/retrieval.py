"""Retrieval: which knowledge-base entries a question (and its conversation) is about.

Lexical BM25 (bm25s) over folded, stemmed Portuguese and English tokens of each entry's titles,
keywords and body. ``Retriever`` is the interface; a vector retriever can stand beside
``BM25Retriever`` and be chosen the same way. Only the Retrieve task imports this module (and
with it numpy): the other functions start as fast as before.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import bm25s

from core.knowledge import KnowledgeBase, get_knowledge_base
from core.models import QuestionRef, Retrieval, RetrievedEntry
from core.observability import MetricUnit, logger, metrics
from core.prompt import Turn, bounded_history
from core.repository import QuestionRepository
from core.settings import get_settings
from core.text import covered, detect_language, stems, vocabulary, words

# bm25s says "Building index from tokens" at DEBUG on every cold start; it is not news.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# An entry grounds an answer only if it contains at least this share of the question's content
# words (so "the capital of France" does not match an entry on capital gains); the best such entry
# must score at least MIN_SCORE, and others join the context while they score at least KEEP_SHARE
# of it. Calibrated with `make eval` (docs/quality.md).
COVERAGE_THRESHOLD = 0.6
MIN_SCORE = 1.0
KEEP_SHARE = 0.4
# How much the conversation's earlier questions weigh against the question itself.
HISTORY_WEIGHT = 1.0


@dataclass(frozen=True)
class Query:
    """A question and, for a follow-up, the conversation's earlier questions (newest first)."""

    text: str
    history: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float
    coverage: float  # share of the question's content words the entry contains


class Retriever(Protocol):
    def rank(self, query: Query, limit: int) -> list[Hit]:
        """The best ``limit`` entries for ``query``, best first, with no relevance bar."""
        ...


class BM25Retriever:
    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self._ids = [entry.id for entry in knowledge_base]
        documents = [stems(entry.document()) for entry in knowledge_base]
        self._vocabularies = [vocabulary(document) for document in documents]
        self._index = bm25s.BM25()
        self._index.index(documents, show_progress=False)

    def rank(self, query: Query, limit: int) -> list[Hit]:
        question = words(query.text)
        earlier = [group for text in query.history for group in words(text)]
        if not question and not earlier:
            return []
        scores = self._scores(question)
        if earlier:
            # A follow-up is searched with what the conversation was about ("it" is the CDB).
            prior = self._scores(earlier)
            scores = [
                own + HISTORY_WEIGHT * before for own, before in zip(scores, prior, strict=True)
            ]
        # A follow-up is judged with the conversation's words too: "do I pay tax on it?" after
        # "what is an LCI?" is covered by an entry on LCI and tax.
        judged = question + earlier
        ranked = sorted(range(len(self._ids)), key=lambda i: -scores[i])[:limit]
        return [
            Hit(self._ids[i], round(scores[i], 4), self._coverage(judged, i))
            for i in ranked
            if scores[i] > 0
        ]

    def _scores(self, groups: list[frozenset[str]]) -> list[float]:
        if not groups:
            return [0.0] * len(self._ids)
        tokens = [stem for group in groups for stem in sorted(group)]
        return [float(score) for score in self._index.get_scores(tokens)]

    def _coverage(self, groups: list[frozenset[str]], index: int) -> float:
        return round(covered(groups, self._vocabularies[index]), 4)


def relevant(hits: list[Hit]) -> list[Hit]:
    """The hits that ground an answer: those that cover the question, if the best of them
    scores enough, and the others while they score near it."""
    covering = [hit for hit in hits if hit.coverage >= COVERAGE_THRESHOLD]
    if not covering or covering[0].score < MIN_SCORE:
        return []
    best = covering[0].score
    return [hit for hit in covering if hit.score >= KEEP_SHARE * best]


def search(retriever: Retriever, query: Query, limit: int) -> list[Hit]:
    return relevant(retriever.rank(query, limit))


_building = threading.Lock()


def get_retriever() -> Retriever:
    """The retriever over the served knowledge base, built once per process (once, even when
    the embedded runtime runs several invocations at the same time)."""
    with _building:
        return _build()


@lru_cache
def _build() -> Retriever:
    return BM25Retriever(get_knowledge_base())


def forget_retriever() -> None:
    _build.cache_clear()


def retrieve_context(ref: QuestionRef) -> Retrieval:
    """The Retrieve task: the entries a question is about, and the turns it follows up on."""
    settings = get_settings()
    repository = QuestionRepository()
    question = repository.get(ref.user_id, ref.question_id)
    earlier = repository.answered_before(question, settings.conversation_max_turns)
    turns = bounded_history(
        [Turn(turn.text, turn.answer or "") for turn in earlier],
        settings.conversation_max_turns,
        settings.conversation_token_budget,
    )
    # The bounded history is the most recent turns: a suffix of ``earlier``.
    turn_ids = [turn.question_id for turn in earlier[len(earlier) - len(turns) :]]
    query = Query(question.text, tuple(turn.question for turn in reversed(turns)))
    hits = search(get_retriever(), query, settings.retrieval_top_k)
    knowledge_base = get_knowledge_base()
    logger.info(
        "Context retrieved",
        extra={
            "kb_version": knowledge_base.version,
            "entries": [[hit.entry_id, hit.score] for hit in hits],
            "turns": len(turn_ids),
        },
    )
    metrics.add_metric(name="EntriesRetrieved", unit=MetricUnit.Count, value=len(hits))
    return Retrieval(
        question_id=question.question_id,
        kb_version=knowledge_base.version,
        language=detect_language(question.text),
        entries=[RetrievedEntry(id=hit.entry_id, score=hit.score) for hit in hits],
        turns=turn_ids,
    )
