"""The Content-Security-Policy: the configured one for pages, a fixed one for machine answers.

django-csp builds the policy string for every response (it may carry a nonce). The API
paths (API_PATH_PREFIXES) answer JSON and audio, which no browser renders as a document,
so they get one precomputed policy that allows nothing and may not be framed, without
the per-request build (on create-call that build was about 5% of the request's CPU).
"""

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

MACHINE_ANSWER_POLICY = "default-src 'none'; frame-ancestors 'none'"


class PageCSPMiddleware(CSPMiddleware):
    def __init__(self, get_response) -> None:
        super().__init__(get_response)
        self._machine_prefixes = tuple(settings.API_PATH_PREFIXES)

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(self._machine_prefixes):
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path_info.startswith(self._machine_prefixes):
            response.headers.setdefault("Content-Security-Policy", MACHINE_ANSWER_POLICY)
            return response
        return super().process_response(request, response)
