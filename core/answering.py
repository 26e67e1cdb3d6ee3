"""The CallOpenAI task: the prompt from the retrieved context and the conversation, the model's
answer with its citations checked, or a reused answer from the cache.

At most one paid completion per question however often the task runs (Powertools Idempotency
keyed on the question id).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.cache import AnswerCache, cache_key
from core.errors import CompletionInProgress, LLMUnavailable
from core.idempotency import persistence_layer
from core.knowledge import Entry, KnowledgeBase, get_knowledge_base
from core.llm import get_llm_client
from core.models import AnswerTask, Completion, Question, Retrieval
from core.observability import MetricUnit, logger, metrics
from core.prompt import PROMPT_VERSION, Turn, build_messages, cite
from core.repository import QuestionRepository
from core.settings import get_settings


def answer_question(task: AnswerTask, lambda_context: LambdaContext | None = None) -> Completion:
    """Ask the model; at most one paid completion per question, however often this runs."""
    complete = _idempotent_completion()
    if lambda_context is not None:
        _idempotency_config().register_lambda_context(lambda_context)
    try:
        result: dict[str, Any] = complete(request=task.model_dump(mode="json"))
    except IdempotencyAlreadyInProgressError as exc:
        raise CompletionInProgress(
            f"A completion for question {task.question_id} is already in progress."
        ) from exc
    return Completion.model_validate(result)


def _entries(knowledge_base: KnowledgeBase, retrieval: Retrieval) -> list[Entry]:
    """The retrieved entries that this knowledge base still has, in retrieval order."""
    return [
        knowledge_base.by_id[hit.id] for hit in retrieval.entries if hit.id in knowledge_base.by_id
    ]


def _history(repository: QuestionRepository, question: Question, turn_ids: list[str]) -> list[Turn]:
    earlier = repository.get_many(question.user_id, turn_ids)
    return [Turn(turn.text, turn.answer) for turn in earlier if turn.answer]


def _complete(request: dict[str, Any]) -> dict[str, Any]:
    task = AnswerTask.model_validate(request)
    repository = QuestionRepository()
    question = repository.get(task.user_id, task.question_id)
    knowledge_base = get_knowledge_base()
    client = get_llm_client()
    history = _history(repository, question, task.retrieval.turns)
    # Only a conversation's first question is shared: a follow-up depends on what came before.
    key = (
        None
        if history
        else cache_key(question.text, knowledge_base.version, client.identity, PROMPT_VERSION)
    )
    cache = AnswerCache()
    if key and cache.enabled:
        cached = cache.get(key)
        if cached is not None:
            metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
            logger.info("Answer reused from the cache", extra={"cached_from": cached.question_id})
            return cached.reused(key).model_dump(mode="json")
        metrics.add_metric(name="CacheMisses", unit=MetricUnit.Count, value=1)
    language = task.retrieval.language
    entries = _entries(knowledge_base, task.retrieval)
    reply = client.complete(build_messages(question.text, language, entries, history))
    answer, sources = cite(reply.content, entries, language)
    metrics.add_metric(name="LLMLatency", unit=MetricUnit.Milliseconds, value=reply.latency_ms)
    metrics.add_metric(name="PromptTokens", unit=MetricUnit.Count, value=reply.prompt_tokens)
    metrics.add_metric(
        name="CompletionTokens", unit=MetricUnit.Count, value=reply.completion_tokens
    )
    logger.info(
        "Model answered",
        extra={
            "model": reply.model,
            "latency_ms": reply.latency_ms,
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "sources": [source.id for source in sources],
            "turns": len(history),
        },
    )
    if not answer:
        raise LLMUnavailable("The model answered with nothing but citation markers.")
    return Completion(
        answer=answer,
        model=reply.model,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        latency_ms=reply.latency_ms,
        sources=sources,
        kb_version=knowledge_base.version,
        grounded=bool(sources),
        cache_key=key,
    ).model_dump(mode="json")


@lru_cache
def _idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="question_id",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        raise_on_no_idempotency_key=True,
    )


@lru_cache
def _idempotent_completion() -> Callable[..., dict[str, Any]]:
    """``_complete`` wrapped by Powertools Idempotency, storing records in the main table."""
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        _complete,
        data_keyword_argument="request",
        persistence_store=persistence_layer("call_openai"),
        config=_idempotency_config(),
    )
    return wrapped


def clear_caches() -> None:
    _idempotency_config.cache_clear()
    _idempotent_completion.cache_clear()
