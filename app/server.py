"""The whole product in one ASGI app: the API under /api and the Dash page at /.
`semvec serve` runs `uvicorn app.server:create_server --factory`."""

from fastapi import FastAPI

from app import mount
from backend.api.app import create_app


def create_server(slots: int | None = None) -> FastAPI:
    server = create_app(slots=slots)
    mount(server)
    return server
