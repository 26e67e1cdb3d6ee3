"""Retrieval, conversations, citations and the answer cache, handler by handler, against moto
and the scripted model over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core import reset
from core.cache import AnswerCache
from core.errors import LLMUnavailable
from core.models import Question, QuestionStatus
from core.repository import QuestionRepository
from core.text import count_tokens
from handlers import call_openai, mark_failed, persist_answer, retrieve_context, validate_question
from local.lambda_gateway import LambdaContext
from local.scripted_openai import ScriptedOpenAI
from tests.conftest import Telemetry
from tests.integration.conftest import USER_ID, Aws

Context = Callable[[str], LambdaContext]


def run(
    text: str, session_id: str, lambda_context: Context, *, persist: bool = True
) -> tuple[Question, dict[str, Any], dict[str, Any]]:
    """One question through Validate, Retrieve, CallOpenAI and (by default) PersistAnswer."""
    question = QuestionRepository().create(
        Question(user_id=USER_ID, session_id=session_id, text=text)
    )
    ref = {"question_id": question.question_id, "user_id": USER_ID}
    validate_question.handler(ref, lambda_context("validate_question"))
    retrieval = retrieve_context.handler(ref, lambda_context("retrieve_context"))
    completion = call_openai.handler({**ref, "retrieval": retrieval}, lambda_context("call_openai"))
    if persist:
        persist_answer.handler({**ref, "completion": completion}, lambda_context("persist_answer"))
    return QuestionRepository().get(USER_ID, question.question_id), retrieval, completion


def test_retrieve_returns_ids_and_scores_never_bodies(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context, telemetry: Telemetry
) -> None:
    _, retrieval, _ = run("Como funciona o FGC?", "S-fgc", lambda_context)
    assert retrieval["entries"][0]["id"] == "fgc"
    assert all(set(entry) == {"id", "score"} for entry in retrieval["entries"])
    assert retrieval["language"] == "pt" and retrieval["turns"] == []
    assert retrieval["kb_version"].startswith("kb-")
    # The log line docs/local.md shows: what was found, with scores, and how many turns.
    seen = telemetry.read()
    logged = seen.log("Context retrieved")
    assert logged["kb_version"] == retrieval["kb_version"] and logged["turns"] == 0
    assert logged["entries"] == [[e["id"], e["score"]] for e in retrieval["entries"]]
    assert (float(len(retrieval["entries"])), "Count") in seen.metric("EntriesRetrieved")


def test_the_answer_stores_the_sources_it_cites_and_drops_invented_ones(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    openai_server.script("invent", ["invented_citation"])
    question, retrieval, completion = run(
        "Como funciona o FGC do banco para o CDB invent?", "S-inv", lambda_context
    )
    retrieved = [entry["id"] for entry in retrieval["entries"]]
    assert [source.id for source in question.sources] == retrieved
    invented = f"[{len(retrieved) + 7}]"
    assert invented not in completion["answer"] and invented not in (question.answer or "")
    assert question.grounded is True


def test_an_answer_of_nothing_but_citation_markers_is_no_answer(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    """Markers of entries the context does not have are removed, which leaves nothing: that is
    unavailable (retried by the workflow), never stored as an empty answer."""
    openai_server.reply("only-markers", " [97] [98] ")  # no entry has these numbers
    with pytest.raises(LLMUnavailable) as raised:
        run("Como funciona o FGC? only-markers", "S-markers", lambda_context, persist=False)
    assert raised.value.message == "The model answered with nothing but citation markers."


def test_a_follow_up_carries_the_conversation_into_retrieval_and_prompt(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    first, _, _ = run("What is a CDB?", "S-convo", lambda_context)
    other, _, _ = run("What is an ETF?", "S-other", lambda_context)
    _, retrieval, _ = run("And how is it taxed?", "S-convo", lambda_context)
    assert retrieval["turns"] == [first.question_id]
    assert {"ir-renda-fixa", "cdb"} & {entry["id"] for entry in retrieval["entries"]}
    messages = openai_server.calls_for("And how is it taxed?")[0].messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "What is a CDB?" in messages[1]["content"]
    assert "[1]" not in messages[2]["content"]  # the earlier answer's markers are taken out
    assert all("ETF" not in m["content"] for m in messages[:3])
    assert other.session_id != first.session_id


def test_a_new_subject_in_a_conversation_is_retrieved_on_its_own(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    """ "O que é LCI?" after a question on BDRs found BDR entries, never the LCI one; the same
    for CDB and day trade: each is judged on its own, and says so."""
    run("O que é BDR e como é tributado?", "S-switch", lambda_context)
    for question, entry in (
        ("O que é LCI?", "lci-lca"),
        ("O que é CDB?", "cdb"),
        ("O que é day trade?", "day-trade"),
    ):
        _, retrieval, _ = run(question, "S-switch", lambda_context)
        found = [hit["id"] for hit in retrieval["entries"]]
        assert entry in found and not {"bdrs", "ir-bdrs"} & set(found), (question, found)
        assert (retrieval["decision"], retrieval["follows"]) == ("standalone", [])
        assert len(retrieval["turns"]) >= 1  # the prompt still has the conversation


def test_a_follow_up_records_the_turn_it_follows(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context, telemetry: Telemetry
) -> None:
    first, _, _ = run("O que é uma LCI?", "S-follows", lambda_context)
    off, _, _ = run("Qual o melhor time de futebol?", "S-follows", lambda_context)
    telemetry = telemetry.read().fresh()
    _, retrieval, _ = run("E eu pago imposto nela?", "S-follows", lambda_context)
    assert retrieval["decision"] == "follow_up"
    assert retrieval["follows"] == [first.question_id]  # not the question off the domain
    assert retrieval["turns"] == [first.question_id, off.question_id]
    assert {"lci-lca", "isencoes-ir"} & {hit["id"] for hit in retrieval["entries"]}
    logged = telemetry.read().log("Context retrieved")
    assert (logged["decision"], logged["follows"]) == ("follow_up", 1)


def test_the_conversation_s_token_budget_counts_questions_and_answers(
    aws: Aws,
    openai_server: ScriptedOpenAI,
    lambda_context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A budget with room for the last turn and the question (not the answer) of the one
    before: only the last turn goes into the follow-up."""
    older, _, _ = run("What is a CDB?", "S-budget", lambda_context)
    last, _, _ = run("And an LCI?", "S-budget", lambda_context)
    cost = count_tokens(last.text) + count_tokens(last.answer or "")
    monkeypatch.setenv("CONVERSATION_TOKEN_BUDGET", str(cost + count_tokens(older.text)))
    reset.clear_caches()
    _, retrieval, _ = run("And how are they taxed?", "S-budget", lambda_context)
    assert retrieval["turns"] == [last.question_id]


def test_the_number_of_entries_retrieved_is_configured(
    aws: Aws,
    openai_server: ScriptedOpenAI,
    lambda_context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, three, _ = run("LCI e LCA pagam imposto de renda?", "S-top-3", lambda_context)
    assert len(three["entries"]) > 1
    monkeypatch.setenv("RETRIEVAL_TOP_K", "1")
    reset.clear_caches()
    _, one, _ = run("LCI e LCA pagam imposto de renda?", "S-top-1", lambda_context)
    assert one["entries"] == three["entries"][:1]


def test_a_repeated_first_question_is_served_from_the_cache(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context, telemetry: Telemetry
) -> None:
    first, _, _ = run("Quanto rende o Tesouro Selic? cache-me", "S-cache-1", lambda_context)
    missed = telemetry.read()
    assert missed.metric("CacheMisses") == [(1.0, "Count")] and missed.metric("CacheHits") == []
    again, _, completion = run(
        "  quanto rende o tesouro selic  CACHE-ME!! ", "S-cache-2", lambda_context
    )
    hit = telemetry.fresh().read()
    assert hit.metric("CacheHits") == [(1.0, "Count")] and hit.metric("CacheMisses") == []
    assert hit.log("Answer reused from the cache")["cached_from"] == first.question_id
    assert again.from_cache is True and again.cached_from == first.question_id
    assert (again.prompt_tokens, again.completion_tokens) == (0, 0)
    assert again.answer == first.answer and again.sources == first.sources
    assert again.sources  # the scripted model cited what it was given
    assert (again.kb_version, again.grounded) == (first.kb_version, True)
    assert again.llm_latency_ms == 0 and again.model == first.model
    assert completion["from_cache"] is True
    assert completion["cache_key"] == first.cache_key  # the entry it was served from
    assert openai_server.completions_billed("cache-me") == 1


def test_a_different_question_or_a_follow_up_is_not_served_from_the_cache(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    run("O que é LCA? cache-two", "S-two-1", lambda_context)
    run("O que é LCI? cache-two", "S-two-2", lambda_context)  # a different question
    follow_up, retrieval, _ = run("O que é LCA? cache-two", "S-two-2", lambda_context)
    assert retrieval["turns"]  # asked again, but as a follow-up
    assert follow_up.from_cache is False
    assert openai_server.completions_billed("cache-two") == 3


def test_a_failed_answer_is_never_cached(
    aws: Aws, openai_server: ScriptedOpenAI, lambda_context: Context
) -> None:
    openai_server.script("cache-fail", ["bad_request", "ok"])
    question = QuestionRepository().create(
        Question(user_id=USER_ID, session_id="S-fail", text="O que é FII? cache-fail")
    )
    ref = {"question_id": question.question_id, "user_id": USER_ID}
    validate_question.handler(ref, lambda_context("validate_question"))
    retrieval = retrieve_context.handler(ref, lambda_context("retrieve_context"))
    with pytest.raises(Exception, match="rejected the request"):
        call_openai.handler({**ref, "retrieval": retrieval}, lambda_context("call_openai"))
    mark_failed.handler(
        {**ref, "status": "failed", "error": {"Error": "LLMBadRequest", "Cause": "no"}},
        lambda_context("mark_failed"),
    )
    again, _, _ = run("O que é FII? cache-fail", "S-fail-2", lambda_context)
    assert again.status is QuestionStatus.ANSWERED and again.from_cache is False
    assert openai_server.completions_billed("cache-fail") == 1


def test_the_cache_can_be_turned_off(
    aws: Aws,
    openai_server: ScriptedOpenAI,
    lambda_context: Context,
    monkeypatch: pytest.MonkeyPatch,
    telemetry: Telemetry,
) -> None:
    monkeypatch.setenv("ANSWER_CACHE_TTL_SECONDS", "0")
    run("O que é CDI? no-cache", "S-off-1", lambda_context)
    again, _, _ = run("O que é CDI? no-cache", "S-off-2", lambda_context)
    assert again.from_cache is False
    assert not AnswerCache().enabled
    assert openai_server.completions_billed("no-cache") == 2
    seen = telemetry.read()  # no cache, so neither hits nor misses
    assert seen.metric("CacheHits") == seen.metric("CacheMisses") == []
