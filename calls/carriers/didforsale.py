"""DIDforSale (docs/providers.md, "DIDforSale").

Account: base_url is the API root ending in /api/V2, e.g.
https://api.didforsale.com/didforsaleapi/index.php/api/V2; credentials {"api_key"}.

A call placed without `url` rings `to` (the a-leg) and, once it answers, connects it to
`from` (the b-leg): that is click-to-call, with the agent as `to` and the customer as
`from`. Its markup language is not documented, so SFVoPI streaming calls are refused.
Each call carries a secretKey that DIDforSale echoes on every callback as `apikey`;
callback field names are read case-insensitively (the docs spell CallDurartion).
"""

import hashlib
import hmac

from django.conf import settings

from calls import recordings

from calls.carriers.base import (
    Carrier,
    CarrierError,
    Report,
    as_int,
    bridged,
    callback_params,
    carrier_session,
    digits,
    ended,
    keep_carrier_response,
    send,
)
from calls.models import CallStatus

EVENTS = "initiated,ringing,answered,completed"
ID_FIELDS = ("callsid", "call_sid", "sid", "callid", "call_id", "uuid")

_session = carrier_session()


def _lowered(params):
    return {key.lower(): value for key, value in params.items()}


class DidForSaleCarrier(Carrier):
    kind = "didforsale"
    events = frozenset({"status"})

    def callback_secret(self):
        """The secretKey we give with each call: derived, so it is never stored or shown."""
        message = f"didforsale:{self.account.pk}:{self.account.callback_token}".encode()
        return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()

    def place(self, call):
        raise CarrierError("DIDforSale's call markup is not documented; it carries click-to-call only.")

    def place_bridged(self, call):
        form = {
            "from": digits(call.to_number),
            "to": digits(call.agent.number),
            "statusCallback": self.callback_url(call, "status"),
            "statusCallbackEvent": EVENTS,
            "statusCallbackMethod": "POST",
            "secretKey": self.callback_secret(),
        }
        if call.app and call.app.send_digits:
            form["senddigits"] = call.app.send_digits
        url = self.endpoint("/CallTermination/")
        response = send(_session, "POST", url, carrier="DIDforSale", call=call, data=form,
                        headers={"apikey": self.credential("api_key")})
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            fields = _lowered(body)
            if fields.get("error") or str(fields.get("status", "")).lower() in ("error", "failed", "fail"):
                keep_carrier_response(call, response.text)
                raise CarrierError("DIDforSale: it refused the call")
            for name in ID_FIELDS:
                if fields.get(name):
                    return str(fields[name])
        # Its answer has no documented id; callbacks find the call by our URL anyway.
        return f"dfs-{call.request_uuid}"

    def hang_up(self, call):
        raise CarrierError("DIDforSale documents no hang-up API; the call ends when a party hangs up.")

    def can_hang_up(self, call):
        return False

    def authenticate(self, request):
        given = _lowered(callback_params(request)).get("apikey", "")
        return hmac.compare_digest(given.encode(), self.callback_secret().encode())

    def reports(self, request, call):
        fields = _lowered(callback_params(request))
        payload = {key: value for key, value in callback_params(request).items() if key.lower() != "apikey"}
        call_sid = fields.get("callsid", "")
        parent = fields.get("parentcallsid", "")
        customer_leg = bool(parent) and parent != call_sid
        status_name = fields.get("callstatus", "").lower()
        duration = as_int(fields.get("callduration") or fields.get("calldurartion"))
        if status_name == "initiated":
            return []
        if status_name == "ringing":
            return [Report(CallStatus.RINGING, payload=payload)]
        if status_name in ("answered", "in-progress"):
            # The agent picking up changes nothing yet; the customer picking up bridges the call.
            return bridged(payload) if customer_leg else []
        status = ended(status_name, call, duration) or CallStatus.FAILED
        # "RecordingURL: if recording is enabled, and only on the completed event". Its request
        # field is not documented, so recording is switched on in the DIDforSale account.
        recording_url = fields.get("recordingurl", "")
        if recording_url:
            recordings.recording_fetch_enqueue(call, recording_url, duration)
        return [Report(status, carrier_call_id="" if customer_leg else call_sid, duration=duration, payload=payload)]
