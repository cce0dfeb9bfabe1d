"""Carrier callbacks and call-control requests: /webhooks/<carrier>/<token>/<request_uuid>/<event>/.

Every URL we give a carrier holds the account's unguessable callback token; the carrier's
own proof (a signature, an echoed secret) is checked on top. A callback that fails either
gets 403 and changes nothing. Progress callbacks become lifecycle reports; call-control
requests (Vobiz answer_url, Restcomm Url, Superfone's answer webhook) are answered in the
carrier's own markup.
"""

import logging

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from calls.carriers import registry
from calls.carriers.base import apply
from calls.models import Call, CarrierAccount

logger = logging.getLogger(__name__)


def _unique(rows):
    # The lookups are on unique columns: get() spares first()'s ORDER BY, the hottest path's
    # two lookups being a third of its time (docs/performance.md).
    try:
        return rows.get()
    except ObjectDoesNotExist:
        return None


def _refuse(status, message):
    return JsonResponse({"message": message}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def carrier_callback(request, kind, token, request_uuid, event):
    account = _unique(CarrierAccount.objects.filter(kind=kind, callback_token=token))
    if account is None or kind not in registry.CARRIERS:
        return _refuse(403, "Forbidden")
    carrier = registry.for_account(kind, account)
    if event not in carrier.events:
        return _refuse(404, "Not found")
    if not carrier.authenticate(request):
        logger.warning("refused a %s callback for account %s: bad signature or replay", kind, account.pk)
        return _refuse(403, "Forbidden")
    calls = Call.objects.filter(carrier_account=account, request_uuid=request_uuid)
    if event in carrier.control_events:
        # The markup it answers with names the app's and the agent's numbers.
        calls = calls.select_related("agent", "app")
    call = _unique(calls)
    if call is None:
        return _refuse(404, "Call not found")
    if event in carrier.control_events:
        return carrier.call_control(request, call)
    apply(call, carrier.reports(request, call), source=kind)
    return HttpResponse(status=204)
