"""Retrieval: which knowledge-base entries a question (and, for a follow-up, its conversation)
is about.

Lexical BM25 (bm25s), one index per language over folded, stemmed words of each entry's title,
keywords and body in that language: a Portuguese question is matched against the Portuguese
text, an English one against the English text, so that "time" (a football team) never meets
"Brasília time". ``Retriever`` is the interface; a vector retriever can stand beside
``BM25Retriever`` and be chosen the same way. Only the Retrieve task imports this module (and
with it numpy): the other functions start as fast as before.

A question is judged on its own first (``search``). The conversation joins only when the
question depends on it: it points back ("E eu pago imposto nela?"), or continues without
naming a subject of its own ("E quanto rende?", but not "E juros compostos?"), or has no word of
its own ("E isso?"). Then the words of the conversation's latest subject support
the question's own words, at a lower weight; they never replace them. docs/knowledge.md tells the
whole story.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

import bm25s

from core.knowledge import LANGUAGES, KnowledgeBase, get_knowledge_base
from core.models import QuestionRef, Retrieval, RetrievedEntry
from core.observability import MetricUnit, logger, metrics
from core.prompt import Turn, bounded_history
from core.repository import QuestionRepository
from core.settings import get_settings
from core.text import (
    Language,
    Term,
    before_pointing,
    compounds,
    content_words,
    continues,
    covered,
    detect_language,
    fold,
    holds_compound,
    names,
    points_back,
    stems,
    title_words,
    vocabulary,
    words,
)

# bm25s says "Building index from tokens" at DEBUG on every cold start; it is not news.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# An entry grounds an answer only if it contains at least this share of the question's content
# words (so "the capital of France" does not match an entry on capital gains); the best such entry
# must score at least MIN_SCORE, and others join the context while they score at least KEEP_SHARE
# of it. Calibrated with `make eval` (docs/quality.md).
COVERAGE_THRESHOLD = 0.6
MIN_SCORE = 0.5
KEEP_SHARE = 0.4
# How much the words of the conversation's subject weigh against a follow-up's own words.
SUPPORT_WEIGHT = 0.5
# A question that finds nothing in its own language is searched in the other only if an entry
# there holds every one of its words: a single shared word ("time") is a collision, not a match.
FALLBACK_COVERAGE = 1.0

# How many of the entries a question finds on its own are looked at for the one it names, and
# in how many titles a word may be and still name one ("renda" is in a dozen: it names none).
NAMING_LIMIT = 3
COMMON_TITLES = 3
# A keyword of two words or more names its entry when one of its words is in at most this share
# of the entries ("split": one; "imposto": most).
RARE_SHARE = 0.15

Decision = Literal["standalone", "follow_up"]


@dataclass(frozen=True)
class Query:
    """A question and the earlier questions that support it (newest first): empty for a question
    judged on its own. ``language`` is the question's, detected when None."""

    text: str
    history: tuple[str, ...] = field(default_factory=tuple)
    language: Language | None = None


@dataclass(frozen=True)
class Hit:
    entry_id: str
    score: float
    coverage: float  # share of the question's content words the entry contains


@dataclass(frozen=True)
class Found:
    """What a search decided and found: ``follows`` are the positions in the query's history
    (0 is the newest) of the turns whose words it used, empty when the question stood alone."""

    decision: Decision
    hits: list[Hit]
    follows: tuple[int, ...] = ()


class Retriever(Protocol):
    def rank(self, query: Query, limit: int) -> list[Hit]:
        """The best ``limit`` entries for ``query``, best first, with no relevance bar."""
        ...

    def depends(self, text: str) -> bool:
        """Whether a question, asked in a conversation, leans on it."""
        ...


class BM25Retriever:
    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self._ids = [entry.id for entry in knowledge_base]
        self._titles = {
            language: [entry.text(language).title for entry in knowledge_base]
            for language in LANGUAGES
        }
        self._keywords = {
            language: [entry.text(language).keywords for entry in knowledge_base]
            for language in LANGUAGES
        }
        self._common = {
            language: frozenset(
                word
                for word, count in Counter(
                    word for title in titles for word in title_words(title, language)
                ).items()
                if count > COMMON_TITLES
            )
            for language, titles in self._titles.items()
        }
        self._indexes: dict[Language, bm25s.BM25] = {}
        self._vocabularies: dict[Language, list[frozenset[str]]] = {}
        self._rare: dict[Language, frozenset[frozenset[str]]] = {}
        self._folded = {
            language: [fold(entry.document(language)) for entry in knowledge_base]
            for language in LANGUAGES
        }
        for language in LANGUAGES:
            in_entries = Counter(
                group
                for entry in knowledge_base
                for group in set(words(entry.document(language), language))
            )
            self._rare[language] = frozenset(
                group for group, count in in_entries.items() if count <= RARE_SHARE * len(self._ids)
            )
            documents = [stems(entry.document(language), language) for entry in knowledge_base]
            self._vocabularies[language] = [vocabulary(document) for document in documents]
            self._indexes[language] = bm25s.BM25()
            self._indexes[language].index(documents, show_progress=False)

    def rank(self, query: Query, limit: int) -> list[Hit]:
        language = query.language or detect_language(query.text)
        question = words(query.text, language)
        support = [group for text in query.history for group in words(text, language)]
        if not question and not support:
            return []
        scores = self._scores(question, language)
        for text in query.history:
            # Each earlier question in its own language's index: a conversation may mix them.
            said_in = detect_language(text)
            prior = self._scores(words(text, said_in), said_in)
            scores = [
                own + SUPPORT_WEIGHT * before for own, before in zip(scores, prior, strict=True)
            ]
        # A follow-up is judged with the conversation's words too: "do I pay tax on it?" after
        # "what is an LCI?" is covered by an entry on LCI and tax.
        judged = question + support
        terms = compounds(query.text) if language == "pt" else []
        ranked = sorted(range(len(self._ids)), key=lambda i: -scores[i])[:limit]
        return [
            Hit(self._ids[i], round(scores[i], 4), self._coverage(judged, terms, language, i))
            for i in ranked
            if scores[i] > 0
        ]

    def depends(self, text: str) -> bool:
        """It points back ("nela", "it"), has no word of its own ("E isso?"), continues and finds
        nothing on its own, or names the subject of none of the entries it finds on its own:
        "E quanto rende?" finds the RendA+ entry by a shared stem but does not name it; "E juros
        compostos?" names its entry."""
        if not content_words(text):
            return True
        language = detect_language(text)
        if points_back(text):
            # It points back, unless at what it names before ("Going back to dividends, are
            # they taxed?"); "Ele cobre o Tesouro Direto?" points back at the conversation.
            lead = before_pointing(text)
            return not content_words(lead) or not self._names(lead, language)
        found = relevant(self.rank(Query(text, language=language), NAMING_LIMIT))
        if not found:  # off the domain, unless it continues ("E a Vale?")
            return continues(text)
        return not self._names(text, language, found)

    def _names(self, text: str, language: Language, found: list[Hit] | None = None) -> bool:
        """Whether ``text`` names one of the entries it finds on its own."""
        if found is None:
            found = relevant(self.rank(Query(text, language=language), NAMING_LIMIT))
        places = [self._ids.index(hit.entry_id) for hit in found]
        return names(
            text,
            [self._titles[language][place] for place in places],
            language,
            self._common[language],
            phrases=[phrase for place in places for phrase in self._keywords[language][place]],
            rare=self._rare[language],
        )

    def _scores(self, groups: list[frozenset[str]], language: Language) -> list[float]:
        if not groups:
            return [0.0] * len(self._ids)
        tokens = [stem for group in groups for stem in sorted(group)]
        return [float(score) for score in self._indexes[language].get_scores(tokens)]

    def _coverage(
        self,
        groups: list[frozenset[str]],
        terms: list[Term],
        language: Language,
        index: int,
    ) -> float:
        """The share of ``groups`` the entry holds; the second word of a term ("vida" in "seguro
        de vida") counts only if the entry has the term itself."""
        vocabulary = self._vocabularies[language][index]
        share = covered(groups, vocabulary)
        split = sum(
            1
            for term in terms
            if {term[0], term[1]} <= vocabulary
            and not holds_compound(self._folded[language][index], term)
        )
        return round(max(share - split / len(groups), 0.0) if groups else share, 4)


def relevant(hits: list[Hit]) -> list[Hit]:
    """The hits that ground an answer: those that cover the question, if the best of them
    scores enough, and the others while they score near it."""
    covering = [hit for hit in hits if hit.coverage >= COVERAGE_THRESHOLD]
    if not covering or covering[0].score < MIN_SCORE:
        return []
    best = covering[0].score
    return [hit for hit in covering if hit.score >= KEEP_SHARE * best]


def alone(retriever: Retriever, text: str, limit: int) -> list[Hit]:
    """What a question finds on its own: in its language, or, when that finds nothing, in the
    other language where an entry holds every one of its words."""
    language = detect_language(text)
    found = relevant(retriever.rank(Query(text, language=language), limit))
    if found:
        return found
    other: Language = "en" if language == "pt" else "pt"
    fallback = relevant(retriever.rank(Query(text, language=other), limit))
    return [hit for hit in fallback if hit.coverage >= FALLBACK_COVERAGE]


def search(retriever: Retriever, query: Query, limit: int) -> Found:
    """The entries a question is about, judged on its own first; its conversation (``history``,
    newest first) joins only when the question depends on it, and then as support."""
    own = alone(retriever, query.text, limit)
    if not query.history or not retriever.depends(query.text):
        return Found("standalone", own)
    subject = _subject(retriever, query.history, limit)
    if subject:
        support = tuple(query.history[position] for position in subject)
        supported = relevant(retriever.rank(Query(query.text, support), limit))
        if supported:
            return Found("follow_up", supported, subject)
    return Found("standalone", own)


def _subject(retriever: Retriever, history: tuple[str, ...], limit: int) -> tuple[int, ...]:
    """The turns that make up the conversation's latest subject (positions, newest first): the
    newest earlier question that found something, with the turns it itself followed up on.
    Earlier questions that found nothing (off the domain) are passed over."""
    subjects: dict[int, tuple[int, ...]] = {}
    for position in reversed(range(len(history))):  # oldest first: a turn builds on older ones
        text = history[position]
        found = alone(retriever, text, limit)
        before = next(
            (subjects[older] for older in range(position + 1, len(history)) if older in subjects),
            (),
        )
        if before and retriever.depends(text):
            support = tuple(history[older] for older in before)
            if relevant(retriever.rank(Query(text, support), limit)):
                subjects[position] = (position, *before)
                continue
        if found:
            subjects[position] = (position,)
    return next((subjects[position] for position in sorted(subjects)), ())


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
    newest_first = list(reversed(turn_ids))
    query = Query(question.text, tuple(turn.question for turn in reversed(turns)))
    found = search(get_retriever(), query, settings.retrieval_top_k)
    follows = sorted((newest_first[position] for position in found.follows), key=turn_ids.index)
    knowledge_base = get_knowledge_base()
    logger.info(
        "Context retrieved",
        extra={
            "kb_version": knowledge_base.version,
            "entries": [[hit.entry_id, hit.score] for hit in found.hits],
            "decision": found.decision,
            "follows": len(follows),
            "turns": len(turn_ids),
        },
    )
    metrics.add_metric(name="EntriesRetrieved", unit=MetricUnit.Count, value=len(found.hits))
    return Retrieval(
        question_id=question.question_id,
        kb_version=knowledge_base.version,
        language=detect_language(question.text),
        entries=[RetrievedEntry(id=hit.entry_id, score=hit.score) for hit in found.hits],
        turns=turn_ids,
        decision=found.decision,
        follows=follows,
    )
