"""A path the page does not have is answered 404, with the page itself (its shell then
says "Page not found" and lists the pages). Dash serves its page for every GET path it
does not know (its catch-all route), always 200; this corrects the status only."""

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The path Dash registers its catch-all page route under.
CATCH_ALL = "{path:path}"


class UnknownPages:
    """Sets 404 on the catch-all's answer when `is_page(path)` is false."""

    def __init__(self, app: ASGIApp, is_page: Callable[[str], bool]):
        self.app, self.is_page = app, is_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.is_page(scope["path"]):
            return await self.app(scope, receive, send)

        async def send_status(message: Message) -> None:
            # The router records the route it chose in the scope before the route answers.
            caught = getattr(scope.get("route"), "path", None) == CATCH_ALL
            if message["type"] == "http.response.start" and caught:
                message = {**message, "status": 404}
            await send(message)

        await self.app(scope, receive, send_status)
