"""The whole product in one ASGI app: the API under /api and the Dash page at /.
`semvec serve` runs `uvicorn app.server:create_server --factory`."""

from fastapi import FastAPI

from app import mount
from backend.api.app import create_app
from backend.api.guard import guard_first


def create_server(slots: int | None = None) -> FastAPI:
    server = create_app(slots=slots)
    mount(server)
    guard_first(server)  # Dash's own middleware reads callback bodies: the guard goes first
    return server
