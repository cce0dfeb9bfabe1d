"""The one interface every carrier implements."""

from dataclasses import dataclass, field

from calls.models import CallStatus


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


class Carrier:
    kind = ""

    def __init__(self, account=None):
        self.account = account

    def place(self, call):
        """Ask the carrier to dial `call.to_number`; return the carrier's id for the call."""
        raise NotImplementedError

    def place_bridged(self, call):
        """Click-to-call: ring the agent (`call.agent.number`) first, then bridge the customer."""
        raise NotImplementedError

    def hang_up(self, call):
        raise NotImplementedError

    def authenticate(self, request):
        """True when a callback really comes from this carrier account."""
        raise NotImplementedError

    def reports(self, request):
        """Turn a callback into lifecycle reports (a list of Report)."""
        raise NotImplementedError

    def call_control(self, request, call):
        """Answer the carrier's request for call-control instructions (XML) for `call`."""
        raise NotImplementedError
