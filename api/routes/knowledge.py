"""The knowledge base's entries, read-only: what an answer's sources open."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import CurrentUser
from api.errors import documented
from api.schemas import KnowledgeEntryPublic, Language
from core.errors import NotFound
from core.knowledge import get_knowledge_base

router = APIRouter(prefix="/knowledge", tags=["knowledge"])


@router.get(
    "/{entry_id}",
    response_model=KnowledgeEntryPublic,
    responses=documented(401, 404),
    summary="One knowledge-base entry in one language: title, body, last review, public page",
)
def entry(
    entry_id: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")],
    principal: CurrentUser,
    language: Annotated[Language, Query(description="`pt` or `en`.")] = "en",
) -> KnowledgeEntryPublic:
    found = get_knowledge_base().by_id.get(entry_id)
    if found is None:
        raise NotFound(f"No knowledge-base entry {entry_id}.", code="entry_not_found")
    return KnowledgeEntryPublic.of(found, language)
