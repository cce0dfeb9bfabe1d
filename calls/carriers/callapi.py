"""CallAPI (a white-label Restcomm) and Restcomm itself (docs/providers.md, "CallAPI and Restcomm").

Account: base_url is the API root ending in the version, e.g. https://v1.api19.com/call/2012-04-24
or https://host/restcomm/2012-04-24; credentials {"account_sid", "auth_token"} (HTTP basic auth).

RCML has no verb that streams call audio, so this carrier serves click-to-call only: the
agent's phone is called, our Url answers with <Dial><Number> of the customer, and the
customer's leg reports on its own status callback. SequenceNumber orders the agent leg's
status callbacks, so a late one never moves a call backwards.
"""

from xml.etree.ElementTree import Element, SubElement

from calls import recordings
from calls.carriers.base import (
    Carrier,
    CarrierError,
    Report,
    as_float,
    as_int,
    bridged,
    callback_params,
    carrier_session,
    ended,
    keep_carrier_response,
    send,
    xml_response,
)
from calls.models import CallStatus

EVENTS = ("initiated", "ringing", "answered", "completed")

_session = carrier_session()


class CallApiCarrier(Carrier):
    kind = "callapi"
    events = frozenset({"control", "fallback", "status", "dial", "recording"})
    control_events = frozenset({"control", "fallback", "recording"})

    def _auth(self):
        return (self.credential("account_sid"), self.credential("auth_token"))

    def _calls_url(self, suffix=".json"):
        return self.endpoint(f"/Accounts/{self.credential('account_sid')}/Calls{suffix}")

    def place(self, call):
        raise CarrierError("CallAPI cannot stream call audio (RCML has no Stream verb); it carries click-to-call only.")

    def place_bridged(self, call):
        # CallAPI separates the events with commas, the Restcomm docs with spaces.
        separator = " " if "/restcomm/" in self.account.base_url else ","
        form = {
            "From": self.account.caller_id or call.from_number,
            "To": call.agent.number,
            "Url": self.callback_url(call, "control"),
            "Method": "POST",
            "FallbackUrl": self.callback_url(call, "fallback"),
            "FallbackMethod": "POST",
            "StatusCallback": self.callback_url(call, "status"),
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": separator.join(EVENTS),
            "Timeout": str(call.ring_timeout),
        }
        response = send(_session, "POST", self._calls_url(), carrier="CallAPI", call=call, data=form, auth=self._auth())
        try:
            return str(response.json()["sid"])
        except (ValueError, KeyError, TypeError):
            keep_carrier_response(call, response.text)
            raise CarrierError("CallAPI: its answer held no call sid") from None

    def hang_up(self, call):
        # canceled only stops a queued or ringing call; completed also ends one in progress.
        status = "completed" if call.answered_at else "canceled"
        url = self._calls_url(f"/{call.carrier_call_id}")
        send(_session, "POST", url, carrier="CallAPI", call=call, data={"Status": status}, auth=self._auth())

    def authenticate(self, request):
        """Restcomm documents no callback signature: the unguessable token in our URL is the proof."""
        return True

    def reports(self, request, call):
        params = callback_params(request)
        payload = params.dict()
        status_name = params.get("CallStatus", "").lower()
        call_sid = params.get("CallSid", "")
        duration = as_int(params.get("CallDuration"))
        customer_leg = request.resolver_match.kwargs["event"] == "dial"
        if status_name in ("queued", "initiated"):
            return []
        if status_name == "ringing":
            reports = [Report(CallStatus.RINGING, payload=payload)]
        elif status_name in ("in-progress", "answered"):
            # The agent picking up changes nothing yet; the customer picking up bridges the call.
            reports = bridged(payload) if customer_leg else []
        else:
            reports = [Report(ended(status_name, call, duration) or CallStatus.FAILED, duration=duration,
                              payload=payload)]
        if customer_leg:
            # The customer's leg counts its own sequence; only the agent leg's orders the call.
            return reports
        sequence = as_int(params.get("SequenceNumber"))
        return [
            Report(r.status, carrier_call_id=call_sid, sequence=sequence, duration=r.duration, payload=r.payload)
            for r in reports
        ]

    def call_control(self, request, call):
        response = Element("Response")
        if request.resolver_match.kwargs["event"] == "recording":
            # The Dial's action: the bridge is over; a recorded Dial says where its file is.
            params = callback_params(request)
            recordings.recording_fetch_enqueue(
                call, params.get("RecordingUrl", ""), as_float(params.get("RecordingDuration"))
            )
            return xml_response(response)
        attributes = {
            "callerId": self.account.caller_id or call.from_number,
            "timeout": str(call.ring_timeout),
            "timeLimit": str(call.call_time_limit),
        }
        if call.record:
            # RCML's Dial records the bridged legs; its action request carries RecordingUrl.
            attributes.update(record="true", action=self.callback_url(call, "recording"), method="POST")
            disclosure = recordings.disclosure_for(call)
            if disclosure:
                SubElement(response, "Say").text = disclosure
        dial = SubElement(response, "Dial", attributes)
        number = SubElement(
            dial,
            "Number",
            {
                "statusCallbackEvent": "ringing answered completed",
                "statusCallback": self.callback_url(call, "dial"),
                "statusCallbackMethod": "POST",
            },
        )
        number.text = call.to_number
        return xml_response(response)
