"""All routes under /api/v1, one router per resource."""

from fastapi import APIRouter

from api.routes import auth, health, notifications, questions

api_router = APIRouter(prefix="/api/v1")
for module in (auth, questions, notifications, health):
    api_router.include_router(module.router)
