"""Retrieval over the knowledge base: the right entry for paraphrased questions, nothing for
unrelated ones, and follow-ups resolved by the conversation."""

from __future__ import annotations

import sys

import pytest

from core.knowledge import get_knowledge_base
from core.retrieval import BM25Retriever, Query, Retriever, search
from core.text import count_tokens, detect_language, fold, normalise

PARAPHRASES = [
    # Portuguese
    ("Quanto rende o Tesouro Selic hoje?", "tesouro-selic"),
    ("O que é o Tesouro Direto e como compro títulos do governo?", "tesouro-direto"),
    ("Vale a pena o tesouro ipca+ pra aposentadoria?", "tesouro-ipca|tesouro-renda-mais"),
    ("O que acontece com meu CDB se o banco quebrar?", "fgc"),
    ("LCI e LCA pagam imposto de renda?", "lci-lca|isencoes-ir"),
    ("Preciso pagar imposto sobre o lucro das minhas acoes?", "ir-acoes"),
    ("Como funciona a marcação a mercado dos títulos?", "marcacao-a-mercado"),
    ("Onde devo deixar minha reserva de emergência?", "reserva-de-emergencia"),
    ("Qual o imposto de renda de um CDB resgatado em 1 ano?", "ir-renda-fixa"),
    ("Qual a alíquota de IR para quem resgata um CDB depois de 2 anos?", "ir-renda-fixa"),
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
    # The tax entry's title holds "day trading" too, and ranks first by a hair.
    ("Is day trading a good idea?", "day-trade|ir-day-trade"),
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
FOLLOW_UPS = [
    ("O que é uma LCI?", "E eu pago imposto nela?", {"lci-lca", "ir-renda-fixa"}),
    ("What is a CDB?", "And how is it taxed?", {"ir-renda-fixa", "cdb"}),
    ("O que são FIIs?", "E como é a tributação?", {"ir-fiis"}),
]


@pytest.fixture(scope="module")
def retriever() -> Retriever:
    return BM25Retriever(get_knowledge_base())


def ids(retriever: Retriever, query: Query) -> list[str]:
    return [hit.entry_id for hit in search(retriever, query, 3).hits]


@pytest.mark.parametrize(("question", "entry_id"), PARAPHRASES)
def test_paraphrased_questions_find_their_entry_first(
    retriever: Retriever, question: str, entry_id: str
) -> None:
    """``a|b``: either entry answers the question."""
    assert ids(retriever, Query(question))[0] in entry_id.split("|")


@pytest.mark.parametrize("question", UNRELATED)
def test_unrelated_questions_retrieve_nothing(retriever: Retriever, question: str) -> None:
    assert ids(retriever, Query(question)) == []


@pytest.mark.parametrize(("first", "follow_up", "expected"), FOLLOW_UPS)
def test_a_follow_up_is_resolved_by_the_conversation(
    retriever: Retriever, first: str, follow_up: str, expected: set[str]
) -> None:
    found = ids(retriever, Query(follow_up, (first,)))
    assert expected & set(found), found


def test_without_the_conversation_a_bare_follow_up_finds_nothing_specific(
    retriever: Retriever,
) -> None:
    assert "lci-lca" not in ids(retriever, Query("E eu pago imposto nela?"))


def test_matching_ignores_accents_and_case(retriever: Retriever) -> None:
    accented = ids(retriever, Query("AÇÕES E DIVIDENDOS"))
    assert accented == ids(retriever, Query("acoes e dividendos"))
    assert accented
    assert fold("Ação Çà") == "acao ca"


def test_scores_are_ranked_and_rounded(retriever: Retriever) -> None:
    hits = retriever.rank(Query("Como funciona o FGC?"), 3)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert hits[0].entry_id == "fgc"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("O que é CDB?", "pt"),
        ("Quanto rende a poupança", "pt"),
        ("CDB", "pt"),
        ("E eu pago imposto nela?", "pt"),
        ("What is a CDB?", "en"),
        ("How much tax do I pay on stocks", "en"),
        ("And how is it taxed?", "en"),
    ],
)
def test_language_detection(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_normalised_text_ignores_case_accents_punctuation_and_spacing() -> None:
    assert normalise("  O que é o  CDB?! ") == normalise("o que e o cdb")
    assert normalise("O que é o CDB?") != normalise("O que é o CDI?")


def test_token_counts_are_words_and_punctuation() -> None:
    assert count_tokens("O que é CDB?") == 5
    assert count_tokens("") == 0


def test_words_are_stemmed_alike_when_threads_stem_at_once() -> None:
    """toro dev runs invocations on threads: stemming shared between them must not mix words up
    (a stem computed mid-switch would be cached for the process's whole life)."""
    from concurrent.futures import ThreadPoolExecutor

    from core import text

    documents = [entry.document() for entry in get_knowledge_base()]
    text._stems_of.cache_clear()
    expected = [text.stems(document) for document in documents]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a race shows at once
    try:
        for _ in range(3):
            text._stems_of.cache_clear()
            with ThreadPoolExecutor(max_workers=8) as pool:
                stemmed = list(pool.map(text.stems, documents))
            assert stemmed == expected
    finally:
        sys.setswitchinterval(switching)
        text._stems_of.cache_clear()


def test_two_letter_terms_are_content_words() -> None:
    """'IR' (imposto de renda) is two letters; one-letter words and stop words are not content."""
    from core.text import words

    assert words("Quanto de IR pago?") == [frozenset({"ir"}), frozenset({"pag", "pago"})]
    assert words("e o a") == []


def test_portuguese_plurals_meet_their_singular_from_five_letters() -> None:
    """'ações' is 'acoes' once folded: five letters, the shortest such plural, met as 'ação';
    shorter words ending so ('goes') are English, not plurals."""
    from core import text
    from core.text import words

    text._stems_of.cache_clear()  # stems worked out afresh, not remembered from other tests
    assert words("ações") == words("ação")
    assert words("opções") == words("opção")
    assert words("goes") != words("gao")


def test_a_stem_s_vocabulary_holds_its_prefixes_of_five_characters_or_more() -> None:
    from core.text import vocabulary

    assert vocabulary(["garantidor"]) == {
        "garan",
        "garant",
        "garanti",
        "garantid",
        "garantido",
        "garantidor",
    }
    assert vocabulary(["ir", "fgc"]) == {"ir", "fgc"}  # short stems: only themselves


def test_nothing_to_cover_is_not_covered() -> None:
    from core.text import covered, vocabulary, words

    assert covered([], vocabulary("Tesouro Selic")) == 0.0
    assert covered(words("Tesouro Selic"), vocabulary("Tesouro Selic")) == 1.0


def test_an_accent_makes_a_question_portuguese_whatever_its_words() -> None:
    """English marker words outnumber the Portuguese here; the 'ã' decides."""
    assert detect_language("What is the IPCA+ do Tesouro, não sei") == "pt"
    assert detect_language("WHAT IS THE IPCA+ DO TESOURO, NÃO SEI") == "pt"
    assert detect_language("What is the IPCA+ do Tesouro, nao sei") == "en"


def test_a_follow_up_of_only_stop_words_is_searched_by_the_conversation(
    retriever: Retriever,
) -> None:
    """'E isso?' has no content word of its own: the conversation alone says what it is about,
    ranked as the earlier question would be, at the support's weight."""
    from core.retrieval import SUPPORT_WEIGHT

    follow_up = retriever.rank(Query("E isso?", ("O que é uma LCI?",)), 5)
    alone = retriever.rank(Query("O que é uma LCI?"), 5)
    assert [hit.entry_id for hit in follow_up] == [hit.entry_id for hit in alone]
    assert [hit.score for hit in follow_up] == pytest.approx(
        [SUPPORT_WEIGHT * hit.score for hit in alone], abs=1e-4
    )
    assert follow_up[0].entry_id == "lci-lca"
    assert retriever.rank(Query("E isso?"), 5) == []
    found = search(retriever, Query("E isso?", ("O que é uma LCI?",)), 3)
    assert (found.decision, found.follows, found.hits[0].entry_id) == (
        "follow_up",
        (0,),
        "lci-lca",
    )


def test_only_entries_that_share_a_word_are_ranked(retriever: Retriever) -> None:
    everything = len(get_knowledge_base())
    hits = retriever.rank(
        Query("Qual o rendimento do Tesouro Selic para aposentadoria?"), everything
    )
    assert 0 < len(hits) < everything
    assert all(hit.score > 0 for hit in hits)
    assert any(hit.score < 1 for hit in hits)  # weak matches are ranked too, not dropped


def test_scores_and_coverage_are_rounded_to_four_places(retriever: Retriever) -> None:
    """Three content words: an entry with two of them covers 0.6667 of the question."""
    hits = retriever.rank(Query("Rendimento do Tesouro na aposentadoria"), 20)
    for values in ([hit.score for hit in hits], [hit.coverage for hit in hits]):
        assert all(value == round(value, 4) for value in values)
        assert any(value != round(value, 3) for value in values)  # and not to fewer
    assert 0.6667 in [hit.coverage for hit in hits]


def test_search_keeps_at_most_its_limit(retriever: Retriever) -> None:
    question = Query("LCI e LCA pagam imposto de renda?")
    assert len(search(retriever, question, 3).hits) > 1
    assert len(search(retriever, question, 1).hits) == 1


def test_the_relevance_bars_are_inclusive() -> None:
    """At the coverage threshold, at the minimum score and at the share of the best: kept."""
    from core.retrieval import COVERAGE_THRESHOLD, KEEP_SHARE, MIN_SCORE, Hit, relevant

    best = Hit("best", 2.5, COVERAGE_THRESHOLD)
    at_share = Hit("at-share", KEEP_SHARE * 2.5, 1.0)
    below_share = Hit("below-share", 0.5, 1.0)
    assert relevant([best, at_share, below_share]) == [best, at_share]
    assert relevant([Hit("just-enough", MIN_SCORE, 1.0)]) == [Hit("just-enough", MIN_SCORE, 1.0)]
    assert relevant([Hit("too-weak", MIN_SCORE - 0.01, 1.0)]) == []
    assert relevant([Hit("uncovered", 9.0, COVERAGE_THRESHOLD - 0.01)]) == []


def test_a_retriever_built_afresh_finds_every_paraphrase_s_entry_first() -> None:
    """The same promise as above, with an index built inside the test: how each entry is put
    into the index (its titles, keywords and body) is judged here, not in a shared fixture."""
    fresh = BM25Retriever(get_knowledge_base())
    for question, entry_id in PARAPHRASES:
        assert ids(fresh, Query(question))[0] in entry_id.split("|"), question


@pytest.mark.parametrize(
    "question",
    [
        # "time" (a team) met an English entry's "Brasília time" through the English stems.
        "Qual o melhor time de futebol?",
        "Qual o melhor time de futebol do Brasil?",
        # "seguro de vida" met the emergency fund's "aplicações seguras" and "custo de vida".
        "Qual o melhor seguro de vida?",
    ],
)
def test_words_of_another_language_or_another_term_are_not_a_match(
    retriever: Retriever, question: str
) -> None:
    assert ids(retriever, Query(question)) == []


def test_a_question_is_searched_in_its_own_language_first(retriever: Retriever) -> None:
    """The same words score in the index of the language asked in, and only there."""
    english = retriever.rank(Query("time", language="en"), 3)
    portuguese = retriever.rank(Query("time", language="pt"), 3)
    assert "horario-de-negociacao" in [hit.entry_id for hit in english]
    assert "horario-de-negociacao" not in [hit.entry_id for hit in portuguese]


def test_the_other_language_answers_only_when_an_entry_holds_every_word(
    retriever: Retriever,
) -> None:
    """The question "IOF redemption" has no Portuguese or English marker, so it is taken as
    Portuguese and finds nothing there; both its words are in the English entry on the IOF."""
    from core.retrieval import alone, relevant

    assert detect_language("IOF redemption") == "pt"
    assert relevant(retriever.rank(Query("IOF redemption", language="pt"), 3)) == []
    assert [hit.entry_id for hit in alone(retriever, "IOF redemption", 3)][:1] == ["iof"]
    # Two of its three words are in an English entry ("time", "Brasília"): no fallback.
    assert alone(retriever, "Qual o melhor time de futebol do Brasil?", 3) == []


CONVERSATIONS = [
    # (earlier questions, oldest first; the question; the decision; an entry it must find;
    # entries it must not find)
    (["O que é BDR e como é tributado?"], "O que é LCI?", "standalone", "lci-lca", {"bdrs"}),
    (["O que é CDB?", "O que é LCI?"], "O que é day trade?", "standalone", "day-trade", {"cdb"}),
    (
        ["O que é o Tesouro Selic?"],
        "Como declaro ações no imposto de renda?",
        None,
        "declaracao-ir",
        {"tesouro-selic", "poupanca"},
    ),
    (["O que são FIIs?"], "O que é o FGC?", "standalone", "fgc", {"fiis"}),
    (["O que é a regra dos 72?"], "E juros compostos?", "standalone", "juros-compostos", set()),
    (
        ["O que é CDB?", "O que é LCI?"],
        "Voltando ao CDB, quanto rende?",
        "standalone",
        "cdb",
        set(),
    ),
    (["O que é CDB?"], "E quanto rende?", "follow_up", "cdb", set()),
    # It names a subject of its own: a keyword of the FGC's, "banco quebrar".
    (["O que é CDB?"], "E se o banco quebrar?", "standalone", "fgc", set()),
    (["O que é uma LCI?"], "E eu pago imposto nela?", "follow_up", "isencoes-ir", set()),
    (["What is day trading?"], "Quanto de imposto eu pago?", "follow_up", "ir-day-trade", set()),
    (
        ["What are dividends and JCP?", "What is a stock split?"],
        "Going back to dividends, are they taxed?",
        "standalone",
        "dividendos-jcp",
        set(),
    ),
]


@pytest.mark.parametrize(("earlier", "question", "decision", "found", "absent"), CONVERSATIONS)
def test_a_question_is_judged_on_its_own_and_leans_on_the_conversation_only_when_it_must(
    retriever: Retriever,
    earlier: list[str],
    question: str,
    decision: str | None,
    found: str,
    absent: set[str],
) -> None:
    result = search(retriever, Query(question, tuple(reversed(earlier))), 3)
    hits = [hit.entry_id for hit in result.hits]
    assert found in hits and not absent & set(hits), hits
    if decision:
        assert result.decision == decision
    assert (result.decision == "standalone") == (result.follows == ())


def test_a_follow_up_passes_over_a_question_off_the_domain_to_the_subject_before_it(
    retriever: Retriever,
) -> None:
    history = ("Qual o melhor time de futebol?", "O que é CDB?")  # newest first
    result = search(retriever, Query("E quanto rende?", history), 3)
    assert (result.decision, result.follows) == ("follow_up", (1,))
    assert "cdb" in {hit.entry_id for hit in result.hits}


def test_a_follow_up_of_a_follow_up_carries_the_subject_it_followed() -> None:
    """The question "E ela tem garantia?" after "E quanto rende?" after "O que é CDB?": the
    subject is the chain of both earlier questions, and "ela" is the CDB."""
    retriever = BM25Retriever(get_knowledge_base())
    history = ("E quanto rende?", "O que é CDB?")
    result = search(retriever, Query("E ela tem garantia?", history), 3)
    assert (result.decision, result.follows) == ("follow_up", (0, 1))
    assert result.hits[0].entry_id == "cdb"


def test_what_points_back_and_what_names_a_subject() -> None:
    from core.text import before_pointing, compounds, continues, names, points_back

    assert points_back("E eu pago imposto nela?") and points_back("How are they taxed?")
    assert not points_back("Como está a Selic?")  # "está" folds to "esta": not "this"
    assert not points_back("Is there an ETF that tracks the Ibovespa?")  # a relative "that"
    assert continues("E quanto rende?") and continues("And the tax?")
    assert not continues("Existe ETF de Ibovespa?")
    assert before_pointing("Going back to dividends, are they taxed?") == (
        "going back to dividends are"
    )
    assert names("O que é o FGC?", ["FGC (Fundo Garantidor de Créditos)"], "pt")
    assert names("E juros compostos?", ["Juros compostos"], "pt")
    common = frozenset({frozenset({"rend"})})
    assert not names("E quanto rende?", ["Tesouro RendA+ (renda na aposentadoria)"], "pt", common)
    assert names("Como transfiro minha custódia?", ["Transferir investimentos"], "pt")
    assert names(
        "What is a stock split?",
        [],
        "en",
        phrases=["stock split"],
        rare=frozenset({frozenset({"split"})}),
    )
    assert not names("Quanto de imposto eu pago?", [], "pt", phrases=["preciso pagar imposto"])
    assert compounds("Qual o melhor seguro de vida?") == [("segur", "vid", "seguro")]
    assert compounds("What is life insurance?") == []
