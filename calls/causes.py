"""Why a call ended, in words an agent understands, beside the Q.850 code it came with.

A code alone misleads: 41 is what a carrier says when the number cannot be reached, and
also what we set when the customer's answer URL gave no stream. The words depend on how
far the call got, our own note about ending it, and whether placing it failed.
"""

from dataclasses import dataclass

# Causes a carrier reports for a number that cannot be reached at all.
UNREACHABLE_CAUSES = {"1", "2", "3", "20", "27", "28", "38", "41"}
REJECTED_CAUSES = {"21"}
BUSY_CAUSES = {"17"}
NO_ANSWER_CAUSES = {"18", "19"}


@dataclass(frozen=True)
class HangupReason:
    code: str  # stable: busy, no_answer, unreachable, rejected, answer_url_failed, carrier_error, canceled, time_limit
    words: str
    cause: str | None  # the Q.850 code kept beside the words

    def public(self) -> dict[str, str | None]:
        return {"code": self.code, "words": self.words, "cause": self.cause}


WORDS = {
    "busy": "Busy: the line was engaged",
    "no_answer": "No answer",
    "unreachable": "Unreachable: the number could not be reached",
    "rejected": "Rejected by the called side",
    "answer_url_failed": "The answer URL failed: it gave no stream",
    "carrier_error": "Carrier error: the call could not be placed",
    "canceled": "Hung up before it was answered",
    "time_limit": "Ended at the call time limit",
}


def hangup_reason(*, status: str, hangup_cause: str = "", note: str = "", answered: bool = False,
                  carrier_error: str = "") -> HangupReason | None:
    """The reason a call did not end normally, or None for a completed call (or one still live)."""
    cause = hangup_cause or None

    def reason(code: str) -> HangupReason:
        return HangupReason(code, WORDS[code], cause)

    if status == "completed":
        return reason("time_limit") if cause == "31" else None
    if status == "busy":
        return reason("busy")
    if status == "no_answer":
        return reason("no_answer")
    if status == "canceled":
        return reason("canceled")
    if status != "failed":
        return None
    if note == "answer_failed" or answered:
        return reason("answer_url_failed")
    if carrier_error:
        return reason("carrier_error")
    if cause in REJECTED_CAUSES:
        return reason("rejected")
    if cause in BUSY_CAUSES:
        return reason("busy")
    if cause in NO_ANSWER_CAUSES:
        return reason("no_answer")
    if cause in UNREACHABLE_CAUSES or cause is None:
        return reason("unreachable")
    return reason("carrier_error")


def call_hangup_reason(call) -> dict[str, str | None] | None:
    """`hangup_reason` of a Call row, as the console and /api/v1 show it."""
    found = hangup_reason(status=call.status, hangup_cause=call.hangup_cause, answered=call.answered_at is not None,
                          carrier_error=call.carrier_error)
    return found.public() if found else None
