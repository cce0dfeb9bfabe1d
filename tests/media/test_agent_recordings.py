"""An agent's own recorded calls: recorded by the organization's policy, playable from the console's history."""

import pytest

from calls import lifecycle, recordings, services
from calls.models import CallStatus
from tests.agents.conftest import agent, agent_client  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_policy_recorded_agent_call_plays_from_the_history(tenant, agent, agent_client):  # noqa: F811
    recordings.policy_save(organization=tenant.organization, record_agent_calls=True)
    call = services.call_create(organization=tenant.organization, agent=agent, to_number="+918000000111")
    assert call.record
    lifecycle.transition(call.pk, CallStatus.COMPLETED, source="test")
    call.refresh_from_db()
    recording = recordings.recording_store(call=call, data=recordings.sandbox_wav(0.5), format="wav", duration=0.5)

    [row] = agent_client.get("/console/history").json()["calls"]
    assert row["recording_url"] == f"/api/v1/recordings/{recording.pk}/audio"
    audio = agent_client.get(row["recording_url"])
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"


def test_without_the_policy_agent_calls_are_not_recorded(tenant, agent, agent_client):  # noqa: F811
    call = services.call_create(organization=tenant.organization, agent=agent, to_number="+918000000111")
    assert not call.record
    [row] = agent_client.get("/console/history").json()["calls"]
    assert row["recording_url"] is None
