"""The demo organization's own webhook receiver, so a fresh install has no dead letters.

`manage.py demo` points the demo app's answer and hangup URLs here. It stands in for a
customer's server: ring and hangup are acknowledged with 204, answer gets Stream JSON
(the sandbox carrier echoes it). It reads nothing and stores nothing.
"""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

# What a customer's answer webhook returns: where to stream the call's audio.
DEMO_STREAM = {
    "stream": {
        "url": "wss://example.com/audio",
        "codec": "PCMA",
        "sample_rate": 8000,
        "direction": "BOTH",
        "bidirectional": True,
        "stream_timeout": 86400,
        "keep_call_alive": True,
    }
}
KINDS = ("answer", "ring", "hangup")


@csrf_exempt
def demo_webhook(request, kind):
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    if kind == "answer":
        return JsonResponse(DEMO_STREAM)
    if kind in KINDS:
        return HttpResponse(status=204)
    return HttpResponse(status=404)
