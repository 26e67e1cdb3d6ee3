"""The offline answerer: the right entry for paraphrased questions, and "don't know" otherwise."""

from __future__ import annotations

import json

import pytest

from local.answerer import (
    KNOWLEDGE_PATH,
    Answerer,
    count_tokens,
    default_answerer,
    detect_language,
    fold,
)

PARAPHRASES = [
    # Portuguese
    ("Quanto rende o Tesouro Selic hoje?", "tesouro-selic"),
    ("O que é o Tesouro Direto e como compro títulos do governo?", "tesouro-direto"),
    ("Vale a pena o tesouro ipca+ pra aposentadoria?", "tesouro-ipca"),
    ("O que acontece com meu CDB se o banco quebrar?", "fgc"),
    ("LCI e LCA pagam imposto de renda?", "lci-lca"),
    ("Preciso pagar imposto sobre o lucro das minhas acoes?", "ir-acoes"),
    ("Como funciona a marcação a mercado dos títulos?", "marcacao-a-mercado"),
    ("Onde devo deixar minha reserva de emergência?", "reserva-de-emergencia"),
    ("Qual o imposto de renda de um CDB resgatado em 1 ano?", "ir-renda-fixa"),
    ("O que é come-cotas nos fundos?", "come-cotas"),
    ("Fundos imobiliarios pagam aluguel todo mes?", "fiis"),
    ("PGBL ou VGBL, qual a diferença?", "previdencia-privada"),
    ("Se a corretora falir eu perco minhas ações?", "seguranca-da-custodia"),
    ("Como declarar meus investimentos no imposto de renda?", "declaracao-ir"),
    ("Você pode me dizer qual ação comprar?", "limites-do-assistente"),
    # English
    ("How much does Tesouro Selic yield?", "tesouro-selic"),
    ("What happens to my money if the bank goes bust?", "fgc"),
    ("How are real estate funds taxed?", "ir-fiis"),
    ("What is an ETF and how does it work?", "etfs"),
    ("Is day trading a good idea?", "day-trade"),
    ("Should I keep my emergency fund in stocks?", "reserva-de-emergencia"),
    ("How does compound interest work over the long term?", "juros-compostos"),
    ("What is the difference between fixed income and variable income?", "renda-fixa-vs-variavel"),
    ("Can I buy Apple shares from Brazil with BDRs?", "bdrs"),
    ("How do I use this assistant?", "sobre-o-assistente"),
    ("Do I pay IOF if I redeem within 30 days?", "iof"),
]
UNRELATED = [
    "Qual é a capital da França?",
    "Me conta uma piada",
    "Quem ganhou a copa de 2002?",
    "Receita de bolo de cenoura",
    "How do I bake sourdough bread?",
    "What's the weather tomorrow?",
    "Who wrote Hamlet?",
    "asdf qwerty zxcv",
]


@pytest.fixture(scope="module")
def answerer() -> Answerer:
    return default_answerer()


def test_the_knowledge_base_has_40_bilingual_entries() -> None:
    entries = json.loads(KNOWLEDGE_PATH.read_text(encoding="utf-8"))["entries"]
    assert len(entries) >= 40
    assert len({entry["id"] for entry in entries}) == len(entries)
    for entry in entries:
        for field in ("title", "keywords", "answer"):
            assert set(entry[field]) == {"pt", "en"}, entry["id"]
            assert all(entry[field].values()), entry["id"]


def test_the_paraphrase_table_is_big_enough_and_bilingual() -> None:
    assert len(PARAPHRASES) >= 20
    languages = {detect_language(question) for question, _ in PARAPHRASES}
    assert languages == {"pt", "en"}


@pytest.mark.parametrize(("question", "entry_id"), PARAPHRASES)
def test_paraphrased_questions_find_their_entry(
    answerer: Answerer, question: str, entry_id: str
) -> None:
    reply = answerer.answer(question)
    assert reply.known, question
    assert reply.sources[0].id == entry_id


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_questions_get_an_honest_dont_know(answerer: Answerer, question: str) -> None:
    reply = answerer.answer(question)
    assert not reply.known
    assert "OPENAI_API_KEY" in reply.text


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("O que é CDB?", "pt"),
        ("Quanto rende a poupança", "pt"),
        ("CDB", "pt"),
        ("What is a CDB?", "en"),
        ("How much tax do I pay on stocks", "en"),
        ("Is day trading a good idea?", "en"),
    ],
)
def test_language_detection(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_the_answer_is_in_the_question_language_with_sources(answerer: Answerer) -> None:
    portuguese = answerer.answer("Como funciona o FGC?")
    english = answerer.answer("How does the FGC guarantee work?")
    assert portuguese.language == "pt" and english.language == "en"
    assert "Fontes:" in portuguese.text and "(kb:fgc)" in portuguese.text
    assert "Sources:" in english.text and "(kb:fgc)" in english.text
    assert portuguese.text.startswith(portuguese.sources[0].answer["pt"])
    assert english.text.startswith(english.sources[0].answer["en"])
    assert "não uma recomendação" in portuguese.text


def test_matching_ignores_accents_and_case(answerer: Answerer) -> None:
    accented = answerer.search("AÇÕES E DIVIDENDOS")
    plain = answerer.search("acoes e dividendos")
    assert [m.entry.id for m in accented] == [m.entry.id for m in plain]
    assert fold("Ação Çà") == "acao ca"


def test_token_counts_are_words_and_punctuation() -> None:
    assert count_tokens("O que é CDB?") == 5
    assert count_tokens("") == 0
