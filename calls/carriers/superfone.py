"""Superfone as an upstream carrier (docs/providers.md, "Superfone SFVoPI", "Superfone click-to-call").

Account: base_url is the API root ending in /superfone, e.g.
https://prod-api.superfone.co.in/superfone; credentials {"api_key"} (sent as X-API-Key).

An SFVoPI call is forwarded to POST /sfvopi/calls with our own ring, answer and hangup
URLs; the `from` number must be linked to an active app at Superfone too. Superfone's
answer webhook is relayed to the customer's answer_url and its Stream JSON returned.
Superfone signs nothing, so the token in our URLs is the proof. Click-to-call goes to
GET /api/customer/click-2-call (START, and END to hang up); Superfone reports no progress
for those calls, so they stay queued on our side until the agent ends them.
"""

import json

from django.http import JsonResponse

from calls import delivery
from calls.carriers.base import (
    Carrier,
    CarrierError,
    Report,
    answer_reported,
    answer_verdict,
    as_int,
    carrier_session,
    keep_carrier_response,
    q850,
    send,
)
from calls.models import CallStatus

FINAL = {
    "COMPLETED": CallStatus.COMPLETED,
    "NO_ANSWER": CallStatus.NO_ANSWER,
    "BUSY": CallStatus.BUSY,
    "CANCELED": CallStatus.CANCELED,
    "FAILED": CallStatus.FAILED,
}

_session = carrier_session()


def _fields(request):
    """A webhook's flat fields: the JSON body of a POST, the query string of a GET."""
    if request.method == "GET":
        return request.GET.dict()
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


class SuperfoneCarrier(Carrier):
    kind = "superfone"
    events = frozenset({"answer", "ring", "hangup"})
    control_events = frozenset({"answer"})

    def _headers(self):
        return {"X-API-Key": self.credential("api_key")}

    def _data(self, response, call):
        try:
            return response.json()["data"]
        except (ValueError, KeyError, TypeError):
            keep_carrier_response(call, response.text)
            raise CarrierError("Superfone: its answer was not in the documented shape") from None

    def place(self, call):
        body = {
            "from": call.from_number,
            "to": call.to_number,
            "answer_url": self.callback_url(call, "answer"),
            "answer_method": "POST",
            "ring_url": self.callback_url(call, "ring"),
            "ring_method": "POST",
            "hangup_url": self.callback_url(call, "hangup"),
            "hangup_method": "POST",
            "call_time_limit": call.call_time_limit,
            "ring_timeout": call.ring_timeout,
        }
        url = self.endpoint("/sfvopi/calls")
        response = send(_session, "POST", url, carrier="Superfone", call=call, json=body, headers=self._headers())
        data = self._data(response, call)
        if not isinstance(data, dict) or not data.get("request_uuid"):
            keep_carrier_response(call, response.text)
            raise CarrierError("Superfone: its answer held no request_uuid")
        return str(data["request_uuid"])

    def _click_to_call(self, call, action):
        params = {"customer_number": call.to_number, "user_number": call.agent.number, "call_action": action}
        url = self.endpoint("/api/customer/click-2-call")
        return send(_session, "GET", url, carrier="Superfone", call=call, params=params, headers=self._headers())

    def place_bridged(self, call):
        data = self._data(self._click_to_call(call, "START"), call)
        if not isinstance(data, dict) or not data.get("sentSuccess"):
            raise CarrierError("Superfone: the click-to-call notification was not delivered to the agent's app.")
        return f"notification-{data.get('notificationID')}"

    def hang_up(self, call):
        if call.agent_id is None:
            raise CarrierError("Superfone has no hang-up API for SFVoPI calls.")
        self._click_to_call(call, "END")

    def can_hang_up(self, call):
        # Click-to-call has END; an SFVoPI call has no hang-up at Superfone.
        return call.agent_id is not None

    def reports_progress(self, call):
        # Superfone sends webhooks for SFVoPI calls only; click-to-call reports nothing.
        return call.agent_id is None

    def authenticate(self, request):
        """Superfone documents no webhook signature: the unguessable token in our URL is the proof."""
        return True

    def reports(self, request, call):
        fields = _fields(request)
        event = request.resolver_match.kwargs["event"]
        carrier_call_id = str(fields.get("request_uuid") or "")
        if event == "ring":
            return [Report(CallStatus.RINGING, carrier_call_id=carrier_call_id, payload=fields)]
        status = FINAL.get(str(fields.get("call_status", "")).upper(), CallStatus.FAILED)
        return [
            Report(
                status,
                carrier_call_id=carrier_call_id,
                duration=as_int(fields.get("duration")),
                hangup_cause=q850(fields.get("hangup_cause")),
                payload=fields,
            )
        ]

    def call_control(self, request, call):
        fields = _fields(request)
        # Superfone's answer webhook wants the Stream JSON in its own response, so this
        # request relays it: it asks the customer's answer URL (then the fallback) itself.
        answer_reported(call, source=self.kind, payload=fields, inline=True,
                        carrier_call_id=str(fields.get("request_uuid") or ""))
        stream = delivery.resolve_answer(call.pk)
        if stream is not None:
            return JsonResponse({"stream": stream})
        verdict, stream = answer_verdict(call.pk)
        if verdict == "stream":
            return JsonResponse({"stream": stream})
        if verdict == "pending":
            # A duplicate of a request that is relaying the answer right now.
            return JsonResponse({"message": "The customer's answer webhook is being asked"}, status=409)
        # Not 200 with Stream JSON: Superfone ends the call.
        return JsonResponse({"message": "The customer's answer webhook gave no stream"}, status=502)
