"""``uvicorn api.main:app``: the API as a plain ASGI app."""

from api.app import create_app

app = create_app()
