"""The offline answerer: retrieval over the knowledge base shipped in ``knowledge.json``.

BM25 (bm25s) over accent- and case-insensitive, stemmed tokens of each entry's titles, keywords
and answers in both languages. A question is answered in its own language with the best entries
as sources; when nothing is relevant enough it says so, and how to connect a real model.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import bm25s
import snowballstemmer

Language = Literal["pt", "en"]
KNOWLEDGE_PATH = Path(__file__).with_name("knowledge.json")
MODEL_NAME = "toro-offline-bm25"
# The best entry answers the question only if it covers at least this share of the question's
# words (so "the capital of France" does not match an entry about capital gains) and scores at
# least MIN_SCORE. Calibrated on the paraphrase table and unrelated questions in the tests.
COVERAGE_THRESHOLD = 0.6
MIN_SCORE = 1.0
# A second entry is cited when it scores at least this share of the best one.
SECOND_SOURCE_SHARE = 0.75

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_STOPWORDS = frozenset(
    """
    a o as os um uma uns umas de do da dos das no na nos nas em por para pra com sem que qual
    quais quanto quanta quantos quantas como onde quando e ou se nao sim ao aos eu voce voces ele
    ela eles elas meu minha meus minhas seu sua seus suas isso isto esse essa este esta ser estar
    e foi sao ha tem ter posso pode devo deve fazer faz mais menos muito muita sobre entre ja so
    the an of to in on at for with without and or if not yes is are was were be been being i you
    he she it we they my your his her its our their this that these those what which who whom
    how when where why do does did can could should would will shall may might must have has had
    about into than then there here from by as me us them tell explain please
    bom boa bons boas ideia melhor pior vale saber quero preciso acontece funciona existe
    todo toda todos todas cada algum alguma voce
    diferenca good idea best better worth know want need happens work works difference exist
    """.split()
)
_PT_MARKERS = frozenset(
    """
    o os as um uma de do da dos das no na nos nas em para pra com que qual quais quanto quanta
    como onde nao e meu minha meus minhas posso devo funciona voce isso sobre ate mais se sao
    esta tem ter preciso ou por
    """.split()
)
_EN_MARKERS = frozenset(
    """
    the what is how do does i my of to in an can should which are you it work much about if
    at on with for this that there be will would have has get or by who when where why was
    were did from your
    """.split()
)
_STEMMERS = (snowballstemmer.stemmer("portuguese"), snowballstemmer.stemmer("english"))


def fold(text: str) -> str:
    """Lower case, accents removed: 'Ação' -> 'acao'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


# Portuguese plurals that the stemmer keeps apart from their singular once accents are folded.
_PLURALS = ((re.compile(r"coes$"), "cao"), (re.compile(r"oes$"), "ao"), (re.compile(r"aes$"), "ao"))


def _singular(word: str) -> str:
    for pattern, replacement in _PLURALS:
        word = pattern.sub(replacement, word)
    return word


def words(text: str) -> list[set[str]]:
    """Each content word of ``text`` as its stems: folded, stop words dropped, PT and EN stems."""
    found: list[set[str]] = []
    for word in _WORD.findall(fold(text)):
        if word in _STOPWORDS or len(word) < 2:
            continue
        word = _singular(word)
        found.append({stemmer.stemWord(word) for stemmer in _STEMMERS})
    return found


def tokens(text: str) -> list[str]:
    """Search tokens: every stem of every content word."""
    return [stem for stems in words(text) for stem in sorted(stems)]


def detect_language(text: str) -> Language:
    """Portuguese or English, by accents and common words; Portuguese when in doubt."""
    lowered = text.lower()
    if any(char in lowered for char in "ãõçáéíóúâêôà"):
        return "pt"
    words = _WORD.findall(fold(text))
    portuguese = sum(word in _PT_MARKERS for word in words)
    english = sum(word in _EN_MARKERS for word in words)
    return "en" if english > portuguese else "pt"


def count_tokens(text: str) -> int:
    """Words and punctuation marks: the answerer's honest measure (not a model's BPE tokens)."""
    return len(re.findall(r"\w+|[^\w\s]", text))


@dataclass(frozen=True)
class Entry:
    id: str
    title: dict[str, str]
    keywords: dict[str, list[str]]
    answer: dict[str, str]

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(tokens(self.document()))

    def document(self) -> str:
        keywords = " ".join(" ".join(words) for words in self.keywords.values())
        titles = " ".join(self.title.values())
        # Titles and keywords say what an entry is about: they count twice.
        return f"{titles} {titles} {keywords} {keywords} {' '.join(self.answer.values())}"


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float
    coverage: float  # share of the question's words the entry contains


@dataclass(frozen=True)
class Reply:
    text: str
    language: Language
    sources: tuple[Entry, ...]

    @property
    def known(self) -> bool:
        return bool(self.sources)


_SOURCES_LABEL = {"pt": "Fontes", "en": "Sources"}
_DISCLAIMER = {
    "pt": "Informação geral, não uma recomendação de investimento.",
    "en": "General information, not an investment recommendation.",
}
_UNKNOWN = {
    "pt": (
        "Não encontrei essa informação na minha base de conhecimento. Posso responder sobre "
        "investimentos: renda fixa, Tesouro Direto, CDB, LCI e LCA, FGC, ações, FIIs, ETFs, "
        "impostos, riscos e diversificação. Para responder a qualquer pergunta, conecte um "
        "modelo real: defina OPENAI_API_KEY (e, se quiser, OPENAI_BASE_URL e OPENAI_MODEL) "
        "e reinicie o sistema."
    ),
    "en": (
        "I could not find that in my knowledge base. I can answer questions about investing: "
        "fixed income, Tesouro Direto, CDB, LCI and LCA, the FGC guarantee, stocks, FIIs, ETFs, "
        "taxes, risk and diversification. To answer any question, connect a real model: set "
        "OPENAI_API_KEY (and, if you like, OPENAI_BASE_URL and OPENAI_MODEL) and restart."
    ),
}


class Answerer:
    def __init__(self, entries: list[Entry]) -> None:
        if not entries:
            raise ValueError("The knowledge base is empty.")
        self.entries = entries
        self._vocabularies = [entry.vocabulary for entry in entries]
        self._index = bm25s.BM25()
        self._index.index([tokens(entry.document()) for entry in entries], show_progress=False)

    @classmethod
    def load(cls, path: Path = KNOWLEDGE_PATH) -> Answerer:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls([Entry(**entry) for entry in data["entries"]])

    def search(self, question: str, limit: int = 3) -> list[Match]:
        question_words = words(question)
        if not question_words:
            return []
        scores = self._index.get_scores([s for stems in question_words for s in sorted(stems)])
        ranked = sorted(range(len(self.entries)), key=lambda i: -float(scores[i]))[:limit]
        return [
            Match(self.entries[i], float(scores[i]), self._coverage(question_words, i))
            for i in ranked
            if scores[i] > 0
        ]

    def _coverage(self, question_words: list[set[str]], index: int) -> float:
        vocabulary = self._vocabularies[index]
        return sum(bool(stems & vocabulary) for stems in question_words) / len(question_words)

    def answer(self, question: str) -> Reply:
        language = detect_language(question)
        matches = self.search(question)
        if not matches or matches[0].score < MIN_SCORE or matches[0].coverage < COVERAGE_THRESHOLD:
            return Reply(_UNKNOWN[language], language, ())
        best = matches[0]
        sources = [best.entry] + [
            match.entry for match in matches[1:2] if match.score >= SECOND_SOURCE_SHARE * best.score
        ]
        cited = "; ".join(f"{entry.title[language]} (kb:{entry.id})" for entry in sources)
        text = (
            f"{best.entry.answer[language]}\n\n"
            f"{_SOURCES_LABEL[language]}: {cited}\n\n{_DISCLAIMER[language]}"
        )
        return Reply(text, language, tuple(sources))


@lru_cache
def default_answerer() -> Answerer:
    return Answerer.load()
