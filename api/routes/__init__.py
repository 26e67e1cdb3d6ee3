"""All routes under /api/v1, one router per resource."""

from fastapi import APIRouter

from api.routes import (
    auth,
    health,
    knowledge,
    live,
    me,
    notifications,
    questions,
    sessions,
)

api_router = APIRouter(prefix="/api/v1")
for module in (auth, sessions, questions, notifications, knowledge, live, me, health):
    api_router.include_router(module.router)
