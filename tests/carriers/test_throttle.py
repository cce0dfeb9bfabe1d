"""The per-account calls-per-second limit and concurrent-call cap, seen from the carrier's side."""

import pytest

from calls.models import Call
from tests.carriers.conftest import queue_call

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_holds_the_calls_per_second_limit_and_keeps_queue_order(tenant, vobiz, vobiz_account, webhook_server,
                                                                   run_tasks):
    vobiz_account.calls_per_second = 2
    vobiz_account.save()
    calls = [queue_call(tenant, webhook_server, to=f"+91800000001{index}") for index in range(6)]
    run_tasks(wait=10)

    assert vobiz.problems == [] and len(vobiz.seen) == 6
    # Six calls at two a second: five gaps of at least half a second.
    assert vobiz.seen[-1].at - vobiz.seen[0].at >= 2.0
    assert all(later.at - earlier.at >= 0.45 for earlier, later in zip(vobiz.seen, vobiz.seen[1:]))
    assert [request.json()["to"] for request in vobiz.seen] == [call.to_number[1:] for call in calls]
    assert all(call.carrier_error == "" for call in Call.objects.all())


def test_it_keeps_calls_over_the_concurrency_cap_queued_until_a_slot_frees(
    client, tenant, vobiz, vobiz_account, webhook_server, run_tasks
):
    vobiz_account.max_concurrent_calls = 1
    vobiz_account.save()
    first = queue_call(tenant, webhook_server, to="+918000000011")
    second = queue_call(tenant, webhook_server, to="+918000000012")
    run_tasks(wait=1.5)

    first.refresh_from_db()
    second.refresh_from_db()
    assert len(vobiz.seen) == 1 and first.carrier_call_id
    assert (second.status, second.carrier_call_id, second.carrier_error) == ("queued", "", "")

    hangup = vobiz.calls[first.carrier_call_id]["hangup_url"]
    vobiz.callback(client, hangup, vobiz.params(first.carrier_call_id, "Hangup", Duration="0"))
    run_tasks(wait=3)
    second.refresh_from_db()
    assert len(vobiz.seen) == 2 and second.carrier_call_id in vobiz.calls and second.status == "queued"
