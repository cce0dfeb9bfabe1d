"""Request-wide error handling for the views outside DRF (console, wallboard, callbacks, admin)."""

import logging

from django.http import JsonResponse

from tenants.errors import UNAVAILABLE, UNAVAILABLE_HEADERS, database_unavailable

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A database that is down or out of pooled connections answers 503 with Retry-After,
    in the {"message"} envelope those views use, instead of a 500 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable for %s: %s", request.path, exception)
        return JsonResponse({"message": UNAVAILABLE}, status=503, headers=UNAVAILABLE_HEADERS)
