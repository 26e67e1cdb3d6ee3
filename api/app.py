"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware

from api import errors, web
from api.middleware import BodySizeLimit, SecurityHeaders
from api.routes import api_router
from core.accounts import signing_key
from core.settings import get_api_settings

DESCRIPTION = """\
Ask questions about investing; an AI model answers them asynchronously. A web page for people
(log in, ask, follow the answer arrive, history, notifications) is served at `/`.

1. `POST /api/v1/auth/register`, then `POST /api/v1/auth/login` for tokens and a `session_id`.
2. `POST /api/v1/questions` with `Authorization: Bearer <access_token>`: answered `202` at once.
3. `GET /api/v1/questions/{session_id}/{question_id}` until its status is `answered`,
   `failed` or `rejected`; `GET /api/v1/notifications` lists what became final.

Every error has the body `{"error": {"code", "message", "details": [{"field", "reason"}]}}`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    signing_key()  # refuses to start outside development without a real key
    yield


def create_app() -> FastAPI:
    settings = get_api_settings()
    app = FastAPI(
        title="Toro Assistant API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is the app's own page (web.install), with Swagger UI served from here; ReDoc
        # would load from a CDN, so it is off. API_DOCS=false turns off the schema and /docs.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs else None,
    )
    errors.install(app)
    app.include_router(api_router)
    web.install(app, docs=settings.api_docs)
    # The last added runs first: the size limit sits inside CORS, so a 413 carries CORS headers
    # too, and every answer, refusals included, gets the security headers.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Location", "Retry-After"],
            max_age=600,
        )
    if settings.hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.hosts)
    app.add_middleware(SecurityHeaders)
    return app
