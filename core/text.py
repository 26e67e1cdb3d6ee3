"""Text handling shared by retrieval, the prompt, the answer cache and the offline model.

Folding (lower case, accents removed), content words with their Portuguese and English stems,
language detection and an honest token estimate. The stemmers load on first use, so a function
that only folds text never imports them.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from os.path import commonprefix
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
    todo toda todos todas cada algum alguma voce funcionam funcionar
    diferenca good idea best better worth know want need happens work works difference exist
    voltando voltar volta retomando falando agora back going go again now
    """.split()
)
# Words that point back to something said earlier: a question with one depends on its
# conversation ("E eu pago imposto nela?", "How is it taxed?"). Not "este"/"esta" (folded, "está"
# is "esta") nor "that"/"which" (relative pronouns: "an ETF that tracks the Ibovespa").
_REFERRING = frozenset(
    """
    isso isto disso nisso desse dessa desses dessas nesse nessa nesses nessas esse essa esses
    essas nele nela neles nelas dele dela deles delas ele ela eles elas mesmo mesma
    it its it's this these those them they their theirs one ones
    """.split()
)
# How a question that continues the conversation begins: "E quanto rende?", "And the tax?".
_CONTINUING = re.compile(r"^\s*(?:e|and|but|mas|tambem|also|what about|how about)\b")
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


# "etfs", "cdbs", "fiis": the plural of an acronym (no Portuguese word ends in a consonant and s,
# nor in "iis").
_ACRONYM_PLURAL = re.compile(r"(?:(?<=[b-df-hj-np-rtv-z])|(?<=ii))s$")


def _singular(word: str) -> str:
    word = _ACRONYM_PLURAL.sub("", word)
    if len(word) < 5:  # "goes", "does": English, not Portuguese plurals
        return word
    for pattern, replacement in _PLURALS:
        word = pattern.sub(replacement, word)
    return word


@lru_cache(maxsize=65_536)
def _stems_of(word: str, language: Language | None) -> frozenset[str]:
    """A folded word's stems in ``language``, or in both when None (words repeat: each is
    stemmed once)."""
    portuguese, english = _stemmers()
    chosen = {"pt": (portuguese,), "en": (english,), None: (portuguese, english)}[language]
    singular = _singular(word) if language != "en" else word
    return frozenset(stemmer.stemWord(singular) for stemmer in chosen)


def content_words(text: str) -> list[str]:
    """The folded words of ``text`` that carry meaning: stop words and single letters dropped."""
    return [word for word in _WORD.findall(fold(text)) if word not in _STOPWORDS and len(word) >= 2]


def words(text: str, language: Language | None = None) -> list[frozenset[str]]:
    """Each content word of ``text`` as its stems in ``language`` (both PT and EN when None)."""
    return [_stems_of(word, language) for word in content_words(text)]


def stems(text: str, language: Language | None = None) -> list[str]:
    """Search tokens: every stem of every content word."""
    return [stem for group in words(text, language) for stem in sorted(group)]


_COMPOUND = re.compile(r"\b(?=([a-z0-9]+) d(?:e|o|a|os|as) ([a-z0-9]+)\b)")


Term = tuple[str, str, str]  # the stems of "X de Y", and X as written


def compounds(text: str) -> list[Term]:
    """A Portuguese text's "X de Y" terms of two content words: "seguro de vida", "imposto de
    renda". Such a term is one thing: "seguro de vida" is not "aplicações seguras" and "custo
    de vida" in one text."""
    found = []
    for first, second in _COMPOUND.findall(fold(text)):
        if content_words(first) and content_words(second):
            found.append((min(_stems_of(first, "pt")), min(_stems_of(second, "pt")), first))
    return found


def holds_compound(folded: str, term: Term) -> bool:
    """Whether a folded text has the term, or its first word as written: "desdobramento de
    ações" is in a text on "desdobramento" and "ações"; "seguro de vida" is not in one with
    "seguras" and "vida"."""
    first, second, written = map(re.escape, term)
    return (
        re.search(rf"\b{written}\b", folded) is not None
        or re.search(rf"\b{first}\w* d(?:e|o|a|os|as) {second}", folded) is not None
    )


def points_back(text: str) -> bool:
    """Whether a question points back at something said earlier ("nela", "it", "esse")."""
    return any(word in _REFERRING for word in re.findall(r"[a-z']+", fold(text)))


def before_pointing(text: str) -> str:
    """The words of a question before the first that points back: what it may point at within
    itself ("Going back to dividends, are they taxed?")."""
    words_seen = re.findall(r"[a-z0-9']+", fold(text))
    ends = [i for i, word in enumerate(words_seen) if word in _REFERRING]
    return " ".join(words_seen[: ends[0]] if ends else words_seen)


def continues(text: str) -> bool:
    """Whether a question begins as a continuation ("E quanto rende?", "And the tax?")."""
    return bool(_CONTINUING.match(fold(text)))


# A question names a subject of its own when it holds at least this share of a title's words
# ("E juros compostos?" holds all of "Juros compostos"; "E quanto rende?" a third of "Imposto de
# renda na renda fixa").
NAMING_SHARE = 0.5


_GLOSS = re.compile(r"\([^)]*\)")


def names(
    question: str,
    titles: Sequence[str],
    language: Language,
    common: frozenset[frozenset[str]] = frozenset(),
    *,
    share: float = NAMING_SHARE,
    phrases: Sequence[str] = (),
    rare: frozenset[frozenset[str]] = frozenset(),
) -> bool:
    """Whether ``question`` names what an entry is about: it holds at least ``share`` of the
    words of one of ``titles``, a gloss in brackets aside ("FGC (Fundo Garantidor de Créditos)"
    is named by "FGC"), and at least one word it holds is not ``common`` to many titles
    ("renda"); or it holds every word of one of ``phrases`` of two words or more (an entry's
    keywords), one of them ``rare`` in the knowledge base ("stock split", not "pagar imposto").
    A word is held when it and a word of the question begin alike, over more than PREFIX_MIN
    characters or the whole of the shorter ("transfiro" and "transferir")."""
    asked = [stem for group in words(question, language) for stem in group]

    def holds(group: frozenset[str]) -> bool:
        return any(_alike(stem, other) for stem in group for other in asked)

    def title_named(found: set[frozenset[str]]) -> bool:
        kept = [group for group in found if holds(group)]
        return len(kept) >= share * len(found) and any(group not in common for group in kept)

    def phrase_named(found: list[frozenset[str]]) -> bool:
        return all(map(holds, found)) and any(group in rare for group in found)

    return any(title_named(title_words(title, language)) for title in titles) or any(
        phrase_named(found) for phrase in phrases if len(found := words(phrase, language)) >= 2
    )


def _alike(one: str, other: str) -> bool:
    shared = len(commonprefix([one, other]))  # noqa: RUF071 - words, not paths
    return shared == min(len(one), len(other)) or shared > PREFIX_MIN


def title_words(title: str, language: Language) -> set[frozenset[str]]:
    """The words of a title that ``names`` weighs."""
    return set(words(_GLOSS.sub(" ", title), language))


# A question's stem also matches a longer stem it begins ("garant" in "garantidor"), from this
# length on: shorter prefixes would match unrelated words.
PREFIX_MIN = 5


def vocabulary(text: str | list[str], language: Language | None = None) -> frozenset[str]:
    """Every stem of ``text`` (or of these stems) and its prefixes of PREFIX_MIN characters or
    more: what a question's word must meet for the text to cover it."""
    found: set[str] = set()
    for stem in set(stems(text, language) if isinstance(text, str) else text):
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
