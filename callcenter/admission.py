"""How many API requests a web process works on at once (REQUEST_CONCURRENCY).

Under ASGI Django runs every request's synchronous part in a thread of its own, so with
no bound a flood starts hundreds of threads that fight over the GIL and the database pool:
each request gets slower, most wait out DATABASE_POOL_TIMEOUT and fail after using CPU,
and throughput collapses well below what the process serves at a steady load. Here a
request beyond the bound waits in line on the event loop (no thread, no connection) for
up to REQUEST_QUEUE_TIMEOUT and is then refused with 503 and Retry-After in the envelope
of the API it aimed at, before any work is done for it. Only the API paths
(API_PATH_PREFIXES) are counted: pages are few, some are slow (reports), and must not
hold the API's slots; WebSockets and static files are not counted either.
"""

import asyncio
import logging
from typing import Any

from django.conf import settings

from tenants.errors import UNAVAILABLE, UNAVAILABLE_HEADERS
from tenants.middleware import refusal

logger = logging.getLogger(__name__)


class ConcurrencyLimit:
    """ASGI wrapper around the HTTP application: at most `limit` requests inside it at once."""

    def __init__(self, app: Any, *, limit: int, queue_timeout: float, prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes
        self.limit = limit
        self.queue_timeout = queue_timeout
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _slots(self) -> asyncio.Semaphore:
        # One line per event loop: a semaphore belongs to the loop that first waits on it.
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore, self._loop = asyncio.Semaphore(self.limit), loop
        return self._semaphore

    async def __call__(self, scope, receive, send):
        if self.limit <= 0 or scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        slots = self._slots()
        try:
            await asyncio.wait_for(slots.acquire(), self.queue_timeout)
        except TimeoutError:
            logger.warning("over capacity: %s refused after %.1fs in line", scope["path"], self.queue_timeout)
            return await self._busy(scope, send)
        try:
            return await self.app(scope, receive, send)
        finally:
            slots.release()

    @staticmethod
    async def _busy(scope, send) -> None:
        response = refusal(scope["path"], 503, "service_unavailable", UNAVAILABLE)
        for name, value in UNAVAILABLE_HEADERS.items():
            response[name] = value
        response["X-Content-Type-Options"] = "nosniff"
        headers = [(b"content-length", str(len(response.content)).encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in response.items()]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})


def limited(app: Any) -> Any:
    """`app` behind the process's REQUEST_CONCURRENCY bound (unchanged when it is 0)."""
    if settings.REQUEST_CONCURRENCY <= 0:
        return app
    return ConcurrencyLimit(
        app,
        limit=settings.REQUEST_CONCURRENCY,
        queue_timeout=settings.REQUEST_QUEUE_TIMEOUT,
        prefixes=tuple(settings.API_PATH_PREFIXES),
    )
