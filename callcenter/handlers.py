"""The ASGI handler: API requests run their whole middleware chain and view in one thread.

Django's ASGI handler runs the middleware chain in async mode. With any sync-only
middleware in it (ours and django-auditlog's), each request then crosses between the event
loop and a worker thread three times: into the sync middleware, back out to the async ones
(CSP, Axes, static files) and in again for the sync view. On a busy machine every crossing
waits for the loop or for a thread to be scheduled. API paths serve no static files and
have no async views, so for them the same middleware, in the same order, runs in sync
mode inside one thread: one crossing, as under WSGI (which is also how the test client
runs every request). Pages keep the async chain, so static files still stream
asynchronously.
"""

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler


class ApiInOneThreadHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._prefixes = tuple(settings.API_PATH_PREFIXES)
        self._sync = BaseHandler()
        self._sync.load_middleware(is_async=False)

    async def get_response_async(self, request):
        if request.path.startswith(self._prefixes):
            # thread_sensitive: the per-request thread Django uses for everything sync of this
            # request, so the connection the view used is the one closed when it finishes.
            return await sync_to_async(self._sync.get_response, thread_sensitive=True)(request)
        return await super().get_response_async(request)
