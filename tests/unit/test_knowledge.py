"""The knowledge base: every file valid, problems named by file and field, a content version."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from core.knowledge import DEFAULT_DIRECTORY, KnowledgeBaseError, load

MIN_ENTRIES = 80


def test_every_shipped_entry_is_valid_and_bilingual() -> None:
    knowledge_base = load()
    assert len(knowledge_base) >= MIN_ENTRIES
    assert len(knowledge_base.by_id) == len(knowledge_base)
    assert sum(entry.url is not None for entry in knowledge_base) >= 5


def test_the_version_is_a_hash_of_the_content(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIRECTORY, copy)
    assert load(copy).version == load().version
    entry = copy / "cdb.toml"
    entry.write_text(entry.read_text(encoding="utf-8").replace("FGC", "Fundo Garantidor"))
    assert load(copy).version != load().version
    assert re.fullmatch(r"kb-[0-9a-f]{12}", load().version)


def _broken(tmp_path: Path, name: str, text: str) -> str:
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIRECTORY, copy)
    (copy / name).write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        load(copy)
    return str(raised.value)


def test_a_missing_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    text = (DEFAULT_DIRECTORY / "cdb.toml").read_text(encoding="utf-8")
    message = _broken(
        tmp_path, "cdb.toml", text.replace('title = "CDB (bank', 'titel = "CDB (bank')
    )
    assert "cdb.toml" in message
    # Each problem named by its field, in one line.
    assert "en.title: Field required; en.titel: Extra inputs are not permitted" in message


def test_an_id_that_differs_from_the_file_name_is_refused(tmp_path: Path) -> None:
    text = (DEFAULT_DIRECTORY / "cdb.toml").read_text(encoding="utf-8")
    message = _broken(tmp_path, "cdb-copy.toml", text)
    assert "cdb-copy.toml: id: 'cdb' must equal the file name" in message


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    message = _broken(tmp_path, "broken.toml", 'id = "broken"\nbody = """never closed\n')
    assert "broken.toml: cannot be read as TOML" in message


def test_bad_values_are_explained(tmp_path: Path) -> None:
    text = (DEFAULT_DIRECTORY / "cdb.toml").read_text(encoding="utf-8")
    text = text.replace("reviewed = ", 'url = "not a url"\nreviewed = ').replace(
        "reviewed = 2026", "reviewed = 1026"
    )
    message = _broken(tmp_path, "cdb.toml", text.replace("keywords = [", "keywords = [] #", 1))
    assert "cdb.toml" in message
    assert "url:" in message
    assert "pt.keywords: List should have at least 1 item" in message


def test_an_unknown_entry_is_named() -> None:
    with pytest.raises(KnowledgeBaseError) as raised:
        load().get("no-such-entry")
    assert str(raised.value) == "No knowledge-base entry 'no-such-entry'."


def test_a_directory_without_entries_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeBaseError) as raised:
        load(tmp_path)
    assert str(raised.value) == f"No knowledge-base entries (*.toml) in {tmp_path}."


def test_every_broken_file_is_listed_one_per_line(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIRECTORY, copy)
    (copy / "a-broken.toml").write_text('id = "a-broken"\nbody = """never closed\n')
    (copy / "z-broken.toml").write_text("[[not an entry]]\nx = 1\n")
    (copy / "m-list.toml").write_text("not_a_table = 1\n")
    with pytest.raises(KnowledgeBaseError) as raised:
        load(copy)
    lines = str(raised.value).split("\n")
    assert lines[0] == "Knowledge base is not valid:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "- a-broken.toml",
        "- m-list.toml",
        "- z-broken.toml",
    ]
