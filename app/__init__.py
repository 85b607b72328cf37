"""The Dash front end. It talks to the backend only through the JSON API."""

import logging
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def mount(server):
    """Serve the Dash app at `/` on `server` (the FastAPI app that holds the API)."""
    from dash import Dash

    from app import api_client, auth
    from app.dash_requests import DashRequests
    from app.not_found import UnknownPages
    from app.shell import is_page, layout

    logging.getLogger("uvicorn.access").addFilter(auth.HIDE_TOKENS)  # the sign-in link's token
    api_client.connect(asgi_app=server)
    server.include_router(auth.router)  # before Dash's catch-all page route
    server.add_middleware(auth.CallerMiddleware)
    server.add_middleware(UnknownPages, is_page=is_page)
    dash_app = Dash(
        __name__,
        server=server,
        title="semvec",
        update_title=None,
        assets_folder=str(ASSETS),
    )
    dash_app.layout = layout
    server.add_middleware(DashRequests, dash_app=dash_app)  # in front of Dash's own
    # Dash sets itself up on its first request to one of its own paths; with the FastAPI
    # backend a deep link (`/runs`) is not one, so its page would come without assets or
    # callbacks. Setting up now makes every first page complete.
    dash_app._setup_server()
    return dash_app
