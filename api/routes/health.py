from __future__ import annotations

from fastapi import APIRouter

from api.errors import documented
from api.schemas import Health
from core.health import check_table

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses=documented(503),
    summary="The service answers and can reach its table (no authentication)",
)
def health() -> Health:
    check_table()
    return Health(status="ok", table="reachable")
