"""``toro kb``: what an editor of the knowledge base runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from core.knowledge import DEFAULT_DIRECTORY, load
from local.cli import app

runner = CliRunner()


def test_list_shows_every_entry_and_the_version() -> None:
    result = runner.invoke(app, ["kb", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    knowledge_base = load()
    assert f"{len(knowledge_base)} entries, version {knowledge_base.version}" in result.output
    assert "tesouro-selic" in result.output and "fiagro" in result.output


def test_show_prints_both_languages_and_refuses_an_unknown_id() -> None:
    shown = runner.invoke(app, ["kb", "show", "fgc"], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    assert "[pt] FGC (Fundo Garantidor de Créditos)" in shown.output
    assert "[en] FGC (Brazilian deposit guarantee fund)" in shown.output
    unknown = runner.invoke(app, ["kb", "show", "no-such-entry"])
    assert unknown.exit_code == 1
    assert "no entry 'no-such-entry'" in unknown.output


def test_search_ranks_with_scores_and_marks_what_goes_into_the_prompt() -> None:
    result = runner.invoke(
        app,
        ["kb", "search", "E eu pago imposto nela?", "--after", "O que é uma LCI?"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if re.match(r"│ \d+ ", line)]
    kept = [row.split("│")[2].strip() for row in rows if "│ yes " in row]
    assert "lci-lca" in kept, result.output
    assert len(rows) == 5 and len(kept) <= 3
    assert "Decision: follow_up, supported by the earlier questions 'O que é uma LCI?'" in (
        result.output
    )
    nothing = runner.invoke(app, ["kb", "search", "Quem escreveu Hamlet?"])
    assert "the assistant would say it does not know" in nothing.output
    assert "Decision: standalone" in nothing.output


def test_search_shows_a_new_subject_judged_on_its_own() -> None:
    """After a question on BDRs, "O que é LCI?" is about LCI: the conversation stays out."""
    result = runner.invoke(
        app,
        ["kb", "search", "O que é LCI?", "--after", "O que é BDR e como é tributado?"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output
    assert "Decision: standalone" in result.output
    rows = [line for line in result.output.splitlines() if re.match(r"│ \d+ ", line)]
    assert rows[0].split("│")[2].strip() == "lci-lca", result.output
    assert not any(row.split("│")[2].strip() in ("bdrs", "ir-bdrs") for row in rows)


def test_an_invalid_file_is_named_with_its_field(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIRECTORY, folder)
    (folder / "cdb.toml").write_text('id = "cdb"\nreviewed = 2026-01-01\n', encoding="utf-8")
    result = runner.invoke(app, ["kb", "list", "--dir", str(folder)])
    assert result.exit_code == 2
    assert "cdb.toml: pt: Field required" in result.output
