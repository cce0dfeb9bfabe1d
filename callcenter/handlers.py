"""The ASGI handler: an API request runs everything synchronous about it in one long-lived thread.

Django's ASGI handler starts a new thread for every request (each request gets a fresh
thread-sensitive context) and runs the middleware chain in async mode. With sync-only
middleware in the chain (ours and django-auditlog's), a request then crosses between the
event loop and threads several times: for the request_started signal, into the sync
middleware, back out to the async ones (CSP, Axes, static files), in again for the view,
and once more to close the response. On a busy machine each thread start and each
crossing waits to be scheduled.

API paths (API_PATH_PREFIXES) serve no static files and have no async views (the one
streamed answer, a recording's audio, is read as it is sent), so for them the same
signals and the same middleware, in the same order, run in
sync mode in one call on a thread that lives as long as the process: as WSGI runs them,
and as the test client runs every request. The response is closed in that thread before
it is sent, so the database connection the view used goes back to the pool at once.
Pages keep Django's own path, so static files still stream asynchronously.
"""

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponseBase
from django.urls import set_script_prefix

# Threads for API requests when REQUEST_CONCURRENCY sets no bound.
UNBOUNDED_THREADS = 16


class ApiInOneThreadHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._prefixes = tuple(settings.API_PATH_PREFIXES)
        self._sync = BaseHandler()
        self._sync.load_middleware(is_async=False)
        # As many threads as API requests may be inside at once (callcenter/admission.py).
        self._threads = ThreadPoolExecutor(
            max_workers=settings.REQUEST_CONCURRENCY or UNBOUNDED_THREADS, thread_name_prefix="api-request"
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self._prefixes):
            return await super().__call__(scope, receive, send)
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        # A fresh copy of the context per request: nothing one request sets leaks into the next on that thread.
        context = contextvars.copy_context()
        response = await asyncio.get_running_loop().run_in_executor(
            self._threads, context.run, self._respond, scope, body_file
        )
        try:
            await self.send_response(response, send)
        except asyncio.CancelledError:
            pass  # the client went away while the answer was being sent

    def _respond(self, scope, body_file) -> HttpResponseBase:
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, refused = self.create_request(scope, body_file)
        response: Any
        if request is None:
            body_file.close()
            response = refused  # Django's own answer to a request it cannot read (400, 413)
        else:
            response = self._sync.get_response(request)
        response._handler_class = self.__class__
        if not response.streaming:
            # request_finished fires here, in the thread whose connection it returns to the
            # pool. A streamed answer (a recording's audio) is closed once it has been sent.
            response.close()
        return response
