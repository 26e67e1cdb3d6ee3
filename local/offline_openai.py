"""The offline answerer behind an OpenAI-compatible endpoint, for ``make run`` without a key.

``call_openai`` talks to it with the official SDK, as it would to OpenAI. Token counts in
``usage`` are the answerer's own (words and punctuation of the messages and of the answer).
Moderation flags nothing: there is no model to judge with.
"""

from __future__ import annotations

from typing import Any

from local.answerer import MODEL_NAME, Answerer, count_tokens, default_answerer
from local.openai_server import (
    OpenAICompatibleServer,
    Payload,
    chat_completion,
    error,
    user_message,
)

OFFLINE_API_KEY = "offline"


class OfflineOpenAI(OpenAICompatibleServer):
    models = (MODEL_NAME,)

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, answerer: Answerer | None = None
    ) -> None:
        super().__init__(host=host, port=port)
        self.answerer = answerer or default_answerer()

    def complete(self, body: dict[str, Any]) -> tuple[int, Payload]:
        question = user_message(body)
        if not question.strip():
            return 400, error("No user message to answer.", "invalid_request_error")
        reply = self.answerer.answer(question)
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        return 200, chat_completion(
            MODEL_NAME, reply.text, count_tokens(prompt), count_tokens(reply.text)
        )
