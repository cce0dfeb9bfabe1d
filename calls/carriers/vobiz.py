"""Vobiz (docs/providers.md, "Vobiz"): a Plivo-dialect carrier.

Account: base_url is the API root ending in /api/v1; credentials {"auth_id", "auth_token"}.
Vobiz fetches call-control XML from our answer URL (Event=StartApp) and reports Ring and
Hangup to our ring and hangup URLs. Every callback is signed with X-Vobiz-Signature-V3:
base64(HMAC-SHA256(auth_token, url + "." + nonce)); a nonce is accepted once.
"""

import base64
import hashlib
import hmac
from datetime import timedelta
from xml.etree.ElementTree import Element, SubElement

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.carriers.base import (
    Carrier,
    CarrierError,
    Report,
    answer_reported,
    answer_verdict,
    apply,
    as_float,
    as_int,
    bridged,
    callback_params,
    callback_url,
    carrier_session,
    digits,
    ended,
    keep_carrier_response,
    q850,
    send,
    xml_response,
)
from calls import recordings
from calls.media import bridge
from calls.models import Call, CallbackNonce, CallStatus

# A call lives at most a day, so a nonce older than two days can no longer replay anything live.
NONCE_KEEP = timedelta(days=2)
# How long Vobiz holds a call before asking again while the customer's answer is pending.
ANSWER_POLL_SECONDS = 1
# Vobiz streams G.711 as mu-law only, and L16 at these rates.
L16_RATES = (8000, 16000, 24000)

_session = carrier_session()


def stream_content_type(stream):
    if stream["codec"] == "L16":
        rate = max((r for r in L16_RATES if r <= stream["sample_rate"]), default=8000)
        return f"audio/x-l16;rate={rate}"
    return "audio/x-mulaw;rate=8000"


def stream_xml(stream, call):
    """Our Stream JSON as Vobiz's <Stream> element (attribute rules: docs/providers.md, "Vobiz").

    Vobiz streams to our bridge (calls.media.bridge), which speaks SFVoPI's dialect to the
    customer's `stream.url`: Vobiz's own WebSocket messages differ from Superfone's.
    """
    response = Element("Response")
    if stream["bidirectional"]:
        # Vobiz hangs up a bidirectional stream unless the track is inbound.
        track = "inbound"
    else:
        track = {"BOTH": "both", "INBOUND": "inbound", "OUTBOUND": "outbound"}[stream["direction"]]
    attributes = {
        "bidirectional": str(stream["bidirectional"]).lower(),
        "audioTrack": track,
        "contentType": stream_content_type(stream),
        "streamTimeout": str(stream["stream_timeout"]),
    }
    if stream["bidirectional"]:
        attributes["keepCallAlive"] = str(stream["keep_call_alive"]).lower()
    SubElement(response, "Stream", attributes).text = bridge.bridge_url(call)
    return response


class VobizCarrier(Carrier):
    kind = "vobiz"
    events = frozenset({"answer", "fallback", "ring", "hangup", "dial", "recording"})
    control_events = frozenset({"answer", "fallback", "dial"})

    def _headers(self):
        return {"X-Auth-ID": self.credential("auth_id"), "X-Auth-Token": self.credential("auth_token")}

    def _calls_url(self):
        # PascalCase and the trailing slash matter: /account/.../call/ gets 401.
        return self.endpoint(f"/Account/{self.credential('auth_id')}/Call/")

    def _fire(self, call, *, from_number, to_number, extra):
        body = {
            "from": digits(from_number),
            "to": digits(to_number),
            "answer_url": self.callback_url(call, "answer"),
            "answer_method": "POST",
            "ring_url": self.callback_url(call, "ring"),
            "ring_method": "POST",
            "hangup_url": self.callback_url(call, "hangup"),
            "hangup_method": "POST",
            "fallback_url": self.callback_url(call, "fallback"),
            "fallback_method": "POST",
            "time_limit": call.call_time_limit,
            "hangup_on_ring": call.ring_timeout,
            **extra,
        }
        response = send(_session, "POST", self._calls_url(), carrier="Vobiz", call=call, json=body, headers=self._headers())
        try:
            request_uuid = response.json()["request_uuid"]
        except (ValueError, KeyError, TypeError):
            keep_carrier_response(call, response.text)
            raise CarrierError("Vobiz: its answer held no request_uuid") from None
        return str(request_uuid)

    def place(self, call):
        extra = {}
        app = call.app
        if app is not None:
            if app.caller_name:
                extra["caller_name"] = app.caller_name
            if app.send_digits:
                extra["send_digits"] = app.send_digits
            if app.machine_detection:
                extra["machine_detection"] = app.machine_detection
        return self._fire(call, from_number=call.from_number, to_number=call.to_number, extra=extra)

    def place_bridged(self, call):
        # The agent's phone rings first; the answer XML then dials the customer.
        return self._fire(call, from_number=self._caller_id(call), to_number=call.agent.number, extra={})

    def hang_up(self, call):
        url = self.endpoint(f"/Account/{self.credential('auth_id')}/Call/{call.carrier_call_id}/")
        try:
            send(_session, "DELETE", url, carrier="Vobiz", call=call, headers=self._headers())
        except CarrierError as exc:
            if "HTTP 404" not in str(exc):  # already over at Vobiz
                raise

    def _caller_id(self, call):
        return self.account.caller_id or call.from_number

    def authenticate(self, request):
        signatures = request.headers.get("X-Vobiz-Signature-V3", "")
        nonce = request.headers.get("X-Vobiz-Signature-V3-Nonce", "")
        if not signatures or not nonce.isdigit() or len(nonce) > 64:
            return False
        kwargs = request.resolver_match.kwargs
        url = callback_url(self.kind, self.account.callback_token, kwargs["request_uuid"], kwargs["event"])
        key = self.credential("auth_token").encode()
        expected = base64.b64encode(hmac.new(key, f"{url}.{nonce}".encode(), hashlib.sha256).digest()).decode()
        # Several comma-separated signatures appear while the account rotates its token.
        if not any(hmac.compare_digest(expected, given.strip()) for given in signatures.split(",")):
            return False
        CallbackNonce.objects.filter(account=self.account, created_at__lt=timezone.now() - NONCE_KEEP).delete()
        try:
            with transaction.atomic():
                CallbackNonce.objects.create(account=self.account, nonce=nonce)
        except IntegrityError:
            return False  # a replay
        return True

    def reports(self, request, call):
        params = callback_params(request)
        payload = params.dict()
        event = params.get("Event", "")
        call_uuid = params.get("CallUUID", "")
        if event == "Ring":
            return [Report(CallStatus.RINGING, carrier_call_id=call_uuid, payload=payload)]
        if request.resolver_match.kwargs["event"] == "recording":
            # The session recording's callback (Plivo names: RecordUrl, RecordingDuration).
            recordings.recording_fetch_enqueue(call, params.get("RecordUrl", ""), as_float(params.get("RecordingDuration")))
            return []
        if event == "Hangup":
            duration = as_int(params.get("Duration"))
            cause = q850(params.get("HangupCause"))
            status = ended(params.get("CallStatus"), call, duration, cause) or CallStatus.FAILED
            return [Report(status, carrier_call_id=call_uuid, duration=duration, hangup_cause=cause, payload=payload)]
        return []

    def call_control(self, request, call):
        params = callback_params(request)
        payload = params.dict()
        event = request.resolver_match.kwargs["event"]
        if event == "dial":
            return self._dial_report(params, payload, call)
        if call.kind == Call.Kind.CLICK_TO_CALL:
            # The agent answered: dial the customer with our caller ID, and hear back on "dial".
            response = Element("Response")
            dial = SubElement(
                response,
                "Dial",
                {
                    "callerId": digits(self._caller_id(call)),
                    "timeout": str(call.ring_timeout),
                    "timeLimit": str(call.call_time_limit),
                    "action": self.callback_url(call, "dial"),
                    "callbackUrl": self.callback_url(call, "dial"),
                },
            )
            SubElement(dial, "Number").text = digits(call.to_number)
            return xml_response(self._recorded(response, call))
        # Our own <Redirect> below comes back as Event=Redirect: the answer is recorded already.
        if params.get("Event") != "Redirect":
            answer_reported(call, source=self.kind, payload=payload, carrier_call_id=params.get("CallUUID", ""))
        verdict, stream = answer_verdict(call.pk)
        if verdict == "stream":
            return xml_response(self._recorded(stream_xml(stream, call), call))
        response = Element("Response")
        if verdict == "failed":
            SubElement(response, "Hangup")
        else:
            # The worker is still asking the customer: Vobiz holds the call a second and asks
            # us again, so no thread of ours waits on the customer.
            SubElement(response, "Wait", {"length": str(ANSWER_POLL_SECONDS)})
            SubElement(response, "Redirect", {"method": "POST"}).text = self.callback_url(call, event)
        return xml_response(response)

    def _recorded(self, response, call):
        """A recorded call's XML: the disclosure (if the organization has one), then a
        background recording of the whole session, then what the call does."""
        if not call.record:
            return response
        first = []
        disclosure = recordings.disclosure_for(call)
        if disclosure:
            speak = Element("Speak")
            speak.text = disclosure
            first.append(speak)
        first.append(Element("Record", {
            "recordSession": "true", "maxLength": str(call.call_time_limit), "fileFormat": "wav",
            "callbackUrl": self.callback_url(call, "recording"), "callbackMethod": "POST",
        }))
        for index, element in enumerate(first):
            response.insert(index, element)
        return response

    def _dial_report(self, params, payload, call):
        """The customer's leg of a click-to-call: DialAction from callbackUrl, DialStatus from action."""
        if params.get("DialAction") == "answer":
            apply(call, bridged(payload), source=self.kind)
        elif params.get("DialStatus"):
            duration = as_int(params.get("DialBLegDuration") or params.get("Duration"))
            cause = q850(params.get("DialHangupCause"))
            status = ended(params["DialStatus"], call, duration, cause) or CallStatus.FAILED
            apply(call, [Report(status, duration=duration, hangup_cause=cause, payload=payload)], source=self.kind)
        # After the Dial the agent's leg has nothing more to do.
        response = Element("Response")
        SubElement(response, "Hangup")
        return xml_response(response)
