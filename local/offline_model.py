"""The offline model: an OpenAI-compatible endpoint for ``make run`` and ``make eval``, no key.

It gets exactly the prompt a real model gets and reads it as one would: the numbered entries in
``<context>``, the question in ``<question>``, the conversation's earlier questions. It answers in
the question's language from the entry that covers the question (and the conversation) best,
the first of those that tie, citing it as ``[n]``, and says plainly that it does not know when
the context is empty. It follows no instruction found in the question or the context: it only
ever composes from the entries. Token counts in ``usage`` are words and punctuation marks of the
prompt and of the answer.
"""

from __future__ import annotations

from typing import Any

from core.text import Language, count_tokens, covered, detect_language, vocabulary, words
from local.openai_server import (
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


def compose(prompt: Prompt) -> tuple[str, Language]:
    """The answer to a prompt, in the question's language."""
    language = detect_language(prompt.question)
    if not prompt.entries:
        return _UNKNOWN[language], language
    question = words(prompt.question)
    earlier = [group for text in prompt.history for group in words(text)]

    def fit(position: int) -> tuple[float, float, float, int]:
        entry = prompt.entries[position]
        known = vocabulary(f"{entry.title} {entry.body}")
        return (
            covered(question + earlier, known),
            # An entry about it, not one that mentions it, when they cover it alike.
            covered(question + earlier, vocabulary(entry.title)),
            covered(earlier, known),
            -position,
        )

    best = prompt.entries[max(range(len(prompt.entries)), key=fit)]
    return f"{best.body} [{best.number}]\n\n{_DISCLAIMER[language]}", language


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
