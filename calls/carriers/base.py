"""The one interface every carrier implements, and what carrier modules share."""

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import requests
from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse

from calls import lifecycle, urlguard
from calls.models import Call, CallStatus

# (connect, read) seconds for every request to a carrier.
TIMEOUT = (3.05, 10)
CARRIER_RESPONSE_KEEP_CHARS = 4000

# Q.850 causes by the names Plivo-family carriers report (docs/providers.md, "Hangup causes").
Q850_BY_NAME = {
    "UNALLOCATED_NUMBER": "1",
    "NO_ROUTE_DESTINATION": "3",
    "NORMAL_CLEARING": "16",
    "USER_BUSY": "17",
    "NO_USER_RESPONSE": "18",
    "NO_ANSWER": "19",
    "SUBSCRIBER_ABSENT": "20",
    "CALL_REJECTED": "21",
    "INVALID_NUMBER_FORMAT": "28",
    "NORMAL_UNSPECIFIED": "31",
    "NORMAL_TEMPORARY_FAILURE": "41",
    "ORIGINATOR_CANCEL": "16",
}


class CarrierError(Exception):
    """A carrier refused or failed a request. `retryable` errors (timeouts, 429, 5xx) are tried again."""

    def __init__(self, message, *, retryable=False, retry_after=None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class Report:
    """One status report about a call, as a carrier's callback tells it."""

    status: CallStatus
    carrier_call_id: str = ""
    sequence: int | None = None
    duration: int | None = None
    hangup_cause: str = ""
    payload: dict = field(default_factory=dict)
    note: str = ""


class Carrier:
    kind = ""
    # The callback events (the last part of a callback URL) this carrier uses, and those
    # among them that ask us for call-control instructions rather than report progress.
    events: frozenset[str] = frozenset()
    control_events: frozenset[str] = frozenset()

    def __init__(self, account=None):
        self.account = account

    @property
    def credentials(self):
        return self.account.credentials if self.account else {}

    def credential(self, name):
        value = self.credentials.get(name)
        if not value:
            raise CarrierError(f"The {self.kind} carrier account has no {name!r} credential.")
        return str(value)

    def endpoint(self, path):
        if not self.account or not self.account.base_url:
            raise CarrierError(f"The {self.kind} carrier account has no base URL.")
        return self.account.base_url.rstrip("/") + path

    def callback_url(self, call, event):
        return callback_url(self.kind, self.account.callback_token, call.request_uuid, event)

    def place(self, call):
        """Ask the carrier to dial `call.to_number`; return the carrier's id for the call."""
        raise NotImplementedError

    def place_bridged(self, call):
        """Click-to-call: ring the agent (`call.agent.number`) first, then bridge the customer."""
        raise NotImplementedError

    def hang_up(self, call):
        raise NotImplementedError

    def can_hang_up(self, call: Call) -> bool:
        """False when the carrier offers no way to end `call` from our side."""
        return True

    def reports_progress(self, call: Call) -> bool:
        """False when the carrier says nothing about `call` once it has taken it."""
        return True

    def authenticate(self, request):
        """True when a callback really comes from this carrier account."""
        raise NotImplementedError

    def reports(self, request, call):
        """Turn a callback about `call` into lifecycle reports (a list of Report)."""
        raise NotImplementedError

    def call_control(self, request, call):
        """Answer the carrier's request for call-control instructions (XML) for `call`."""
        raise NotImplementedError


def callback_url(kind, token, request_uuid, event):
    """The URL a carrier calls back on, built from PUBLIC_BASE_URL and never from a request's Host."""
    path = reverse(
        "carrier-callback", kwargs={"kind": kind, "token": token, "request_uuid": request_uuid, "event": event}
    )
    return settings.PUBLIC_BASE_URL + path


def callback_params(request):
    """A callback's fields: the form body of a POST, else the query string."""
    return request.POST if request.method == "POST" else request.GET


def q850(cause):
    """A carrier's hangup cause as a Q.850 code string, or "" when it has no Q.850 meaning."""
    text = str(cause or "").strip()
    if text.isdigit() and 0 < int(text) < 128:
        return str(int(text))
    return Q850_BY_NAME.get(text.upper(), "")


def as_float(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_int(value):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def carrier_session() -> requests.Session:
    """The one HTTP session of a carrier module (connections are reused between requests).

    Its connections go to the address the URL guard checked (calls.urlguard.pinned_send).
    """
    return urlguard.pinned_session("callcenter-carrier/1.0")


# What a carrier's refusal means, in our words: a carrier's own text never reaches fields
# customers read (Call.carrier_error, event notes); it is kept in Call.carrier_response for staff.
_REFUSAL_WORDS = {
    400: "the carrier refused the request as invalid",
    401: "the carrier refused the account's credentials",
    403: "the carrier refused the account's credentials",
    404: "the carrier does not know this call or resource",
    409: "the carrier refused the request as conflicting",
    422: "the carrier refused the request as invalid",
    429: "the carrier is limiting our request rate",
}


def refusal_words(status_code: int) -> str:
    if status_code >= 500:
        return "the carrier had an error on its side"
    return _REFUSAL_WORDS.get(status_code, "the carrier refused the request")


def keep_carrier_response(call, text: str) -> None:
    """Keep a carrier's raw answer about `call` for staff diagnostics (size-capped, admin only)."""
    if call is not None and getattr(call, "pk", None):
        Call.objects.filter(pk=call.pk).update(carrier_response=text[:CARRIER_RESPONSE_KEEP_CHARS])


def send(session, method, url, *, carrier, call=None, **kwargs):
    """One request to a carrier. Timeouts, connection errors, 429 and 5xx raise a retryable CarrierError.

    The URL is checked like a webhook's (calls.urlguard): resolved, every address public,
    the connection pinned to the checked address and redirects never followed, so the
    account's credentials go only to the host that was checked. Error messages are our own
    words with the status, never the URL, headers or the carrier's text; the carrier's
    answer is kept in `call.carrier_response` for staff.
    """
    try:
        prepared = session.prepare_request(requests.Request(method, url, **kwargs))
        response = urlguard.pinned_send(session, prepared, timeout=TIMEOUT)
    except urlguard.UnsafeURL:
        raise CarrierError(f"{carrier}: the carrier account's address is not a public address") from None
    except requests.Timeout:
        raise CarrierError(f"{carrier}: no response within {TIMEOUT[1]} s", retryable=True) from None
    except (requests.RequestException, ValueError) as exc:
        raise CarrierError(f"{carrier}: cannot connect ({type(exc).__name__})", retryable=True) from None
    if response.status_code < 400:
        return response
    keep_carrier_response(call, f"HTTP {response.status_code}\n{response.text}")
    message = f"{carrier}: HTTP {response.status_code}: {refusal_words(response.status_code)}"
    if response.status_code == 429 or response.status_code >= 500:
        raise CarrierError(message, retryable=True, retry_after=_retry_after(response))
    raise CarrierError(message)


def _retry_after(response):
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


ENDED_BY_NAME = {
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY,
    "failed": CallStatus.FAILED,
    "no-answer": CallStatus.NO_ANSWER,
    "no_answer": CallStatus.NO_ANSWER,
    "timeout": CallStatus.NO_ANSWER,
    "canceled": CallStatus.CANCELED,
    "cancel": CallStatus.CANCELED,
}


STATUS_BY_CAUSE = {"17": CallStatus.BUSY, "21": CallStatus.BUSY, "18": CallStatus.NO_ANSWER,
                   "19": CallStatus.NO_ANSWER, "16": CallStatus.NO_ANSWER}


def ended(status_name, call, duration=None, cause=""):
    """The final status a carrier's end-of-call status name means for `call`, or None if unknown.

    "completed" for a call nobody answered (not on our side, no billed seconds) did not
    complete: the Q.850 cause tells busy from rang out, and anything else failed.
    """
    status = ENDED_BY_NAME.get(str(status_name or "").strip().lower())
    if status == CallStatus.COMPLETED and call.answered_at is None and not duration:
        return STATUS_BY_CAUSE.get(cause, CallStatus.FAILED if cause else CallStatus.NO_ANSWER)
    return status


def bridged(payload, carrier_call_id=""):
    """The customer picked up a click-to-call call: answered, and the two legs are bridged."""
    return [
        Report(CallStatus.ANSWERED, carrier_call_id=carrier_call_id, payload=payload),
        Report(CallStatus.IN_PROGRESS, carrier_call_id=carrier_call_id, payload={**payload, "bridged": True}),
    ]


def apply(call, reports, *, source):
    for report in reports:
        lifecycle.transition(
            call.pk,
            report.status,
            source=source,
            payload=report.payload,
            hangup_cause=report.hangup_cause,
            duration=report.duration,
            sequence=report.sequence,
            carrier_call_id=report.carrier_call_id,
            note=report.note,
        )


def answer_reported(call: Call, *, source: str, payload: dict[str, Any], carrier_call_id: str = "",
                    inline: bool = False) -> None:
    """The callee answered an SFVoPI call: record it. The customer's answer webhook is then
    asked by the worker, or with `inline` by the caller itself (`delivery.resolve_answer`)."""
    lifecycle.transition(
        call.pk, CallStatus.ANSWERED, source=source, payload=payload, carrier_call_id=carrier_call_id,
        answer_inline=inline,
    )


def answer_verdict(call_id: int) -> tuple[str, dict[str, Any] | None]:
    """Where the customer's answer stands, without waiting: ("stream", Stream JSON) once it
    gave one, ("failed", None) once the call failed or ended, ("pending", None) before."""
    call = Call.objects.only("status", "stream").get(pk=call_id)
    if call.status == CallStatus.IN_PROGRESS and call.stream:
        return "stream", call.stream
    if call.status == CallStatus.ANSWERED:
        return "pending", None
    return "failed", None


def xml_response(root):
    """Render an ElementTree element as the XML body carriers expect."""
    body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return HttpResponse(body, content_type="application/xml")


def digits(number):
    """E.164 without the plus, as Vobiz and DIDforSale write numbers."""
    return number.removeprefix("+")
