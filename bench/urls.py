"""The production URLs plus /bench/bare/, the framework's ceiling on this machine.

The bare view goes through the same server, middleware and sync-view thread as the
SFVoPI endpoints, parses the same JSON body and answers JSON, but touches no database.
"""

import json

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    body = json.loads(request.body or b"{}")
    return JsonResponse({"data": {"received": len(body)}, "message": "success"})


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("callcenter.urls")),
]
