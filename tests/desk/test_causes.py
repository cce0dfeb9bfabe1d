"""Failure reasons in words, beside the code."""

import pytest

from calls.causes import hangup_reason


@pytest.mark.parametrize(
    ("status", "cause", "answered", "carrier_error", "code"),
    [
        ("busy", "17", False, "", "busy"),
        ("no_answer", "19", False, "", "no_answer"),
        ("failed", "41", False, "", "unreachable"),
        ("failed", "1", False, "", "unreachable"),
        ("failed", "21", False, "", "rejected"),
        ("failed", "41", True, "", "answer_url_failed"),
        ("failed", "41", False, "HTTP 503 from carrier", "carrier_error"),
        ("failed", "127", False, "", "carrier_error"),
        ("canceled", "16", False, "", "canceled"),
    ],
)
def test_the_same_code_gets_the_words_that_fit_how_the_call_went(status, cause, answered, carrier_error, code):
    reason = hangup_reason(status=status, hangup_cause=cause, answered=answered, carrier_error=carrier_error)
    assert (reason.code, reason.cause) == (code, cause)
    assert reason.words


def test_a_completed_call_has_no_failure_reason():
    assert hangup_reason(status="completed", hangup_cause="16") is None
    assert hangup_reason(status="completed", hangup_cause="31").code == "time_limit"


def test_the_api_shows_the_words_beside_the_code(tenant):
    from tests.api_v1.conftest import make_call

    make_call(tenant, status="failed", hangup_cause="41", carrier_error="")
    body = tenant.api.get("/api/v1/calls").json()["results"][0]
    assert body["hangup_cause"] == "41"
    assert body["hangup_reason"] == {"code": "unreachable", "words": "Unreachable: the number could not be reached",
                                     "cause": "41"}
