"""Property: however carrier reports are duplicated, shuffled or delayed, a call ends as the
ordered reports say, and no customer webhook is ever written twice."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls import lifecycle
from calls.models import WebhookDelivery
from tests.conftest import queued_call

pytestmark = pytest.mark.django_db

# What a carrier reports for each kind of call, in the order it happens.
SCENARIOS = {
    "answered": [("ringing", {}), ("answered", {}), ("completed", {"duration": 42, "hangup_cause": "16"})],
    "busy": [("ringing", {}), ("busy", {"hangup_cause": "17"})],
    "no_answer": [("ringing", {}), ("no_answer", {"hangup_cause": "19"})],
    "unreachable": [("failed", {"hangup_cause": "41"})],
}


@st.composite
def deliveries(draw):
    """A scenario, and the reports as a network delivers them: shuffled, some twice."""
    name = draw(st.sampled_from(sorted(SCENARIOS)))
    reports = [(seq, status, extra) for seq, (status, extra) in enumerate(SCENARIOS[name])]
    copies = draw(st.lists(st.sampled_from(reports), max_size=6))
    return name, draw(st.permutations(reports + copies))


def play(call, reports, *, with_sequence):
    for seq, status, extra in reports:
        lifecycle.transition(
            call.pk, status, source="carrier", sequence=seq if with_sequence else None, **extra
        )
    call.refresh_from_db()
    return call


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries(), with_sequence=st.booleans())
def test_any_delivery_order_ends_like_the_ordered_one(tenant, case, with_sequence):
    name, delivered = case
    ordered = [(seq, status, extra) for seq, (status, extra) in enumerate(SCENARIOS[name])]
    expected = play(queued_call(tenant), ordered, with_sequence=with_sequence)
    actual = play(queued_call(tenant), delivered, with_sequence=with_sequence)

    assert actual.status == expected.status
    assert actual.hangup_cause == expected.hangup_cause
    assert actual.events.count() == len(delivered)
    kinds = list(WebhookDelivery.objects.filter(call=actual).values_list("kind", flat=True))
    assert len(kinds) == len(set(kinds))
    [hangup] = WebhookDelivery.objects.filter(call=actual, kind="hangup")
    assert hangup.payload["call_status"] == expected.status.upper()
    if name == "answered":
        assert actual.duration == 42
