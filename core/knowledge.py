"""The broker's knowledge base: one human-editable TOML file per entry in ``knowledge/``.

The help-desk team edits the files; nothing else changes. Each file holds an id (equal to the
file name), a last-reviewed date, an optional public URL, and per language (``pt`` and ``en``) a
title, keywords and a body. Loading validates every file and names the file and field that is
wrong. The version of the knowledge base is a hash of the files' contents, recorded on every
answer, so an answer can always be traced to the text it was built on.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, ValidationError

from core.settings import get_settings
from core.text import Language

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "knowledge"
LANGUAGES: tuple[Language, ...] = ("pt", "en")
EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is missing, unreadable or not in the expected shape."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localised(_Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=120)]
    keywords: list[Text] = Field(min_length=1, max_length=30)
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=40, max_length=4000)]


class Entry(_Strict):
    id: EntryId
    reviewed: date
    url: HttpUrl | None = None
    pt: Localised
    en: Localised

    def text(self, language: Language) -> Localised:
        return self.pt if language == "pt" else self.en

    def document(self, language: Language | None = None) -> str:
        """What retrieval indexes in ``language`` (both when None): title and keywords count
        twice."""
        parts: list[str] = []
        for each in (language,) if language else LANGUAGES:
            local = self.text(each)
            keywords = " ".join(local.keywords)
            parts += [local.title, local.title, keywords, keywords, local.body]
        return " ".join(parts)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    version: str

    @cached_property
    def by_id(self) -> dict[str, Entry]:
        return {entry.id: entry for entry in self.entries}

    def get(self, entry_id: str) -> Entry:
        try:
            return self.by_id[entry_id]
        except KeyError:
            raise KnowledgeBaseError(f"No knowledge-base entry {entry_id!r}.") from None

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "(file)"
        problems.append(f"{field}: {problem['msg']}")
    return "; ".join(problems)


def load_entry(path: Path) -> Entry:
    """One file as an Entry; KnowledgeBaseError names the file and the field that is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KnowledgeBaseError(f"{path.name}: cannot be read as TOML: {exc}") from exc
    try:
        entry = Entry.model_validate(data)
    except ValidationError as exc:
        raise KnowledgeBaseError(f"{path.name}: {_describe(exc)}") from exc
    if entry.id != path.stem:
        raise KnowledgeBaseError(f"{path.name}: id: {entry.id!r} must equal the file name")
    return entry


def load(directory: Path = DEFAULT_DIRECTORY) -> KnowledgeBase:
    """Every ``*.toml`` file of ``directory``, validated, sorted by id, with its version."""
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise KnowledgeBaseError(f"No knowledge-base entries (*.toml) in {directory}.")
    digest = hashlib.sha256()
    entries = []
    problems = []
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        try:
            entries.append(load_entry(path))
        except KnowledgeBaseError as exc:
            problems.append(str(exc))
    if problems:
        raise KnowledgeBaseError("Knowledge base is not valid:\n- " + "\n- ".join(problems))
    return KnowledgeBase(entries=tuple(entries), version=f"kb-{digest.hexdigest()[:12]}")


@lru_cache
def get_knowledge_base() -> KnowledgeBase:
    """The knowledge base this process serves, loaded once (``KNOWLEDGE_DIR`` points elsewhere)."""
    configured = get_settings().knowledge_dir
    return load(Path(configured) if configured else DEFAULT_DIRECTORY)
