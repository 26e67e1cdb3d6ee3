"""The offline model: an OpenAI-compatible endpoint for ``make run`` and ``make eval``, no key.

It gets exactly the prompt a real model gets and reads it as one would: the numbered entries in
``<context>``, the question in ``<question>``, the conversation's earlier questions and answers.
It answers in the question's language from the entry that covers the question best (for a
follow-up, the question with the subject it refers to), the first of those that tie, citing it as
``[n]``, and says plainly that it does not know when the context is empty. Later in a
conversation it answers the aspect asked ("E quanto rende?": the sentences on the yield), and it
never repeats an earlier answer of the conversation word for word. It follows no instruction found
in the question or the context: it only ever composes from the entries. It is deterministic: the
same prompt gets the same answer. Token counts in ``usage`` are words and punctuation marks of the
prompt and of the answer.
"""

from __future__ import annotations

import re
from typing import Any

from core.text import (
    Language,
    before_pointing,
    content_words,
    continues,
    count_tokens,
    covered,
    detect_language,
    names,
    normalise,
    points_back,
    vocabulary,
    words,
)
from local.openai_server import (
    ContextEntry,
    OpenAICompatibleServer,
    Payload,
    Prompt,
    chat_completion,
    error,
    message_text,
    read_prompt,
)

MODEL_NAME = "toro-offline"
OFFLINE_API_KEY = "offline"


_DISCLAIMER = {
    "pt": "Informação geral, não uma recomendação de investimento.",
    "en": "General information, not an investment recommendation.",
}
_UNKNOWN = {
    "pt": (
        "Não tenho essa informação na base de conhecimento da corretora, então prefiro não "
        "responder de memória. Posso ajudar com investimentos: renda fixa, Tesouro Direto, CDB, "
        "LCI e LCA, FGC, ações, FIIs, ETFs, fundos, impostos, riscos e diversificação."
    ),
    "en": (
        "I do not have that information in the broker's knowledge base, so I would rather not "
        "answer from memory. I can help with investing: fixed income, Tesouro Direto, CDB, LCI "
        "and LCA, the FGC guarantee, stocks, FIIs, ETFs, funds, taxes, risk and diversification."
    ),
}


# Said instead of the plain "I do not know" when the conversation has had that already.
_UNKNOWN_AGAIN = {
    "pt": (
        "Isso também não está na base de conhecimento da corretora, então não vou responder de "
        "memória. Se quiser, pergunte sobre investimentos, impostos ou os serviços da corretora."
    ),
    "en": (
        "That is not in the broker's knowledge base either, so I will not answer from memory. "
        "Ask me about investing, taxes on investments or the broker's services, if you like."
    ),
}
_AGAIN = {"pt": "Retomando {title}", "en": "Back to {title}"}
_SAID = {
    "pt": "Isso está nas respostas acima sobre {title}; pergunte de outro jeito se faltou algo.",
    "en": "That is in the answers above on {title}; ask another way if something is missing.",
}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý0-9'\"(])")
# An entry that holds this share of what is asked answers it; among those, the one whose title
# the question names, then the first (the context comes ranked by relevance).
ADEQUATE = 0.6
# At most this many sentences answer an aspect of an entry.
ASPECT_SENTENCES = 2


def compose(prompt: Prompt) -> tuple[str, Language]:
    """The answer to a prompt, in the question's language."""
    language = detect_language(prompt.question)
    said = [_verbatim(answer) for answer in prompt.answers]
    if not prompt.entries:
        return _decline(language, said), language
    question = words(prompt.question, language)
    titles = [entry.title for entry in prompt.entries]
    lead = before_pointing(prompt.question)
    follows = bool(prompt.history) and (
        not content_words(prompt.question)
        # It points back, unless at what it names before ("Going back to dividends, are they
        # taxed?").
        or (points_back(prompt.question) and not names(lead, titles, language))
        or (continues(prompt.question) and not names(prompt.question, titles, language))
    )
    subject = _subject(prompt, language) if follows else []
    judged = question + subject

    def fit(position: int) -> tuple[float, ...]:
        entry = prompt.entries[position]
        known = vocabulary(f"{entry.title} {entry.body}", language)
        return (
            # A follow-up is answered on the subject it refers to.
            covered(subject, known),
            covered(judged, known) >= ADEQUATE,
            # An entry about it, not one that mentions it, when they cover it alike: the one
            # whose title the question names ("BDRs", not "Imposto de renda nos BDRs").
            float(names(prompt.question, [entry.title], language, share=1.0)),
            -position,
        )

    best = prompt.entries[max(range(len(prompt.entries)), key=fit)]
    text = _body(best, question, language, said) if prompt.history else best.body
    return f"{text} [{best.number}]\n\n{_DISCLAIMER[language]}", language


def _verbatim(answer: str) -> str:
    """An answer as repetition is judged: its words, without citations or punctuation."""
    return normalise(re.sub(r"\[\d+\]", " ", answer))


def _repeats(text: str, said: list[str]) -> bool:
    mine = _verbatim(text)
    return any(mine in before or before in mine for before in said if before)


def _decline(language: Language, said: list[str]) -> str:
    for text in (_UNKNOWN[language], _UNKNOWN_AGAIN[language]):
        if not _repeats(text, said):
            return text
    return _UNKNOWN_AGAIN[language]


def _subject(prompt: Prompt, language: Language) -> list[frozenset[str]]:
    """The words of what a follow-up refers to: the newest earlier question that the context
    speaks of (one off the domain in between is passed over)."""
    for earlier in reversed(prompt.history):
        found = words(earlier, language)
        if any(
            covered(found, vocabulary(f"{entry.title} {entry.body}", language))
            for entry in prompt.entries
        ):
            return found
    return []


def _body(
    entry: ContextEntry, question: list[frozenset[str]], language: Language, said: list[str]
) -> str:
    """What to say from ``entry`` later in a conversation: the sentences on the aspect asked
    (the question's words that the title does not hold), or the whole entry; never what the
    conversation has said already, word for word."""
    sentences = _SENTENCE.split(entry.body)
    aspect = [group for group in question if not group & vocabulary(entry.title, language)]
    chosen = sentences
    if aspect:
        fits = [covered(aspect, vocabulary(sentence, language)) for sentence in sentences]
        ranked = sorted(
            (i for i, share in enumerate(fits) if share > 0), key=lambda i: (-fits[i], i)
        )
        if ranked:
            chosen = [sentences[i] for i in sorted(ranked[:ASPECT_SENTENCES])]
    text = " ".join(chosen)
    if not _repeats(text, said):
        return text
    unsaid = [s for s in chosen if not any(_verbatim(s) in before for before in said)]
    for candidate in (
        " ".join(unsaid),
        f"{_AGAIN[language].format(title=entry.title)}: {chosen[0]}",
        _SAID[language].format(title=entry.title),
    ):
        if candidate and not _repeats(candidate, said):
            return candidate
    return _SAID[language].format(title=entry.title)


class OfflineOpenAI(OpenAICompatibleServer):
    models = (MODEL_NAME,)

    def complete(self, body: dict[str, Any]) -> tuple[int, Payload]:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        prompt = read_prompt(messages)
        if not prompt.question.strip():
            return 400, error("No user message to answer.", "invalid_request_error")
        answer, _ = compose(prompt)
        asked = " ".join(message_text(m) for m in messages)
        return 200, chat_completion(MODEL_NAME, answer, count_tokens(asked), count_tokens(answer))
