"""Text handling shared by retrieval, the prompt, the answer cache and the offline model.

Folding (lower case, accents removed), content words with their Portuguese and English stems,
language detection and an honest token estimate. The stemmers load on first use, so a function
that only folds text never imports them.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any, Literal

Language = Literal["pt", "en"]

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_STOPWORDS = frozenset(
    """
    a o as os um uma uns umas de do da dos das no na nos nas em por para pra com sem que qual
    quais quanto quanta quantos quantas como onde quando e ou se nao sim ao aos eu voce voces ele
    ela eles elas meu minha meus minhas seu sua seus suas isso isto esse essa este esta ser estar
    e foi sao ha tem ter posso pode devo deve fazer faz mais menos muito muita sobre entre ja so
    nele nela neles nelas dele dela deles delas lhe lo la entao tambem quem depois antes
    the an of to in on at for with without and or if not yes is are was were be been being i you
    he she it we they my your his her its our their this that these those what which who whom
    how when where why do does did can could should would will shall may might must have has had
    about into than then there here from by as me us them tell explain please also so
    bom boa bons boas ideia melhor pior vale saber quero preciso acontece funciona existe
    todo toda todos todas cada algum alguma voce
    diferenca good idea best better worth know want need happens work works difference exist
    """.split()
)
_PT_MARKERS = frozenset(
    """
    o os as um uma de do da dos das no na nos nas em para pra com que qual quais quanto quanta
    como onde nao e meu minha meus minhas posso devo funciona voce isso sobre ate mais se sao
    esta tem ter preciso ou por eu nela nele pago
    """.split()
)
_EN_MARKERS = frozenset(
    """
    the what is how do does i my of to in an can should which are you it work much about if
    at on with for this that there be will would have has get or by who when where why was
    were did from your and
    """.split()
)
# Portuguese plurals that the stemmer keeps apart from their singular once accents are folded.
_PLURALS = ((re.compile(r"coes$"), "cao"), (re.compile(r"oes$"), "ao"), (re.compile(r"aes$"), "ao"))
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, accents removed: 'Ação' -> 'acao'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalise(text: str) -> str:
    """Folded, punctuation dropped, spacing collapsed: what makes two questions 'the same'."""
    return _SPACE.sub(" ", _PUNCTUATION.sub(" ", fold(text))).strip()


_local = threading.local()


def _stemmers() -> tuple[Any, Any]:
    """This thread's stemmers: a snowball stemmer keeps the word it works on in itself, so two
    threads stemming with one stemmer mix their words up (toro dev runs invocations on threads)."""
    stemmers: tuple[Any, Any] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        import snowballstemmer

        stemmers = snowballstemmer.stemmer("portuguese"), snowballstemmer.stemmer("english")
        _local.stemmers = stemmers
    return stemmers


def _singular(word: str) -> str:
    if len(word) < 5:  # "goes", "does": English, not Portuguese plurals
        return word
    for pattern, replacement in _PLURALS:
        word = pattern.sub(replacement, word)
    return word


@lru_cache(maxsize=65_536)
def _stems_of(word: str) -> frozenset[str]:
    """A folded word's Portuguese and English stems (words repeat: each is stemmed once)."""
    singular = _singular(word)
    return frozenset(stemmer.stemWord(singular) for stemmer in _stemmers())


def words(text: str) -> list[frozenset[str]]:
    """Each content word of ``text`` as its stems: folded, stop words dropped, PT and EN stems."""
    return [
        _stems_of(word)
        for word in _WORD.findall(fold(text))
        if word not in _STOPWORDS and len(word) >= 2
    ]


def stems(text: str) -> list[str]:
    """Search tokens: every stem of every content word."""
    return [stem for group in words(text) for stem in sorted(group)]


# A question's stem also matches a longer stem it begins ("garant" in "garantidor"), from this
# length on: shorter prefixes would match unrelated words.
PREFIX_MIN = 5


def vocabulary(text: str | list[str]) -> frozenset[str]:
    """Every stem of ``text`` (or of these stems) and its prefixes of PREFIX_MIN characters or
    more: what a question's word must meet for the text to cover it."""
    found: set[str] = set()
    for stem in set(stems(text) if isinstance(text, str) else text):
        found.update(stem[:end] for end in range(PREFIX_MIN, len(stem) + 1))
        found.add(stem)
    return frozenset(found)


def covered(groups: list[frozenset[str]], vocabulary: frozenset[str]) -> float:
    """The share of the words (as stem groups) that ``vocabulary`` contains."""
    if not groups:
        return 0.0
    return sum(bool(group & vocabulary) for group in groups) / len(groups)


def detect_language(text: str) -> Language:
    """Portuguese or English, by accents and common words; Portuguese when in doubt."""
    lowered = text.lower()
    if any(char in lowered for char in "ãõçáéíóúâêôà"):
        return "pt"
    found = _WORD.findall(fold(text))
    portuguese = sum(word in _PT_MARKERS for word in found)
    english = sum(word in _EN_MARKERS for word in found)
    return "en" if english > portuguese else "pt"


def count_tokens(text: str) -> int:
    """Words and punctuation marks: an honest estimate (not a model's BPE tokens)."""
    return len(re.findall(r"\w+|[^\w\s]", text))
