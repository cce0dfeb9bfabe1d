"""Serializers whose fields are built once per class (tenants.serializers.FieldsBuiltOnce) still
keep every request's input, errors and output to itself, across threads too."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework import serializers

from calls.api.serializers import CallCreateSerializer
from calls.models import CallStatus
from calls.representations import call_public
from tests.conftest import queued_call
from tenants.serializers import FieldsBuiltOnce


def body(index):
    return {
        "from": f"+9180000{index:05d}",
        "to": f"+9198000{index:05d}",
        "answer_url": f"https://crm{index}.example.com/answer",
        "ring_timeout": 1 + index % 600,
    }


def check(index):
    """Validate body `index` (every third one with a bad ring_timeout) and say what came out."""
    data = body(index)
    if index % 3 == 0:
        data["ring_timeout"] = 0
    serializer = CallCreateSerializer(data=data)
    if serializer.is_valid():
        return index, "valid", serializer.validated_data["to"], serializer.validated_data["ring_timeout"]
    return index, "invalid", sorted(serializer.errors), None


def test_each_validation_sees_only_its_own_body_and_errors():
    first = CallCreateSerializer(data={**body(1), "answer_url": "ftp://x"})
    second = CallCreateSerializer(data=body(2))

    assert not first.is_valid()
    assert second.is_valid(), second.errors
    assert sorted(first.errors) == ["answer_url"]
    assert second.validated_data["from"] == "+918000000002"
    assert second.validated_data["answer_method"] == "POST"  # defaults survive the copies
    assert second.validated_data["call_time_limit"] == 14400


def test_concurrent_validations_in_threads_never_mix():
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(check, range(1, 801)))

    for index, outcome, detail, ring_timeout in results:
        if index % 3 == 0:
            assert (outcome, detail) == ("invalid", ["ring_timeout"])
        else:
            assert (outcome, detail, ring_timeout) == ("valid", f"+9198000{index:05d}", 1 + index % 600)


@pytest.mark.django_db
def test_each_call_is_rendered_with_its_own_values(tenant):
    ringing = queued_call(tenant, status=CallStatus.RINGING, call_time_limit=60)
    ended = queued_call(tenant, status=CallStatus.BUSY, call_time_limit=90, hangup_cause="17")

    first, second = call_public(ringing), call_public(ended)

    assert (first["request_uuid"], first["status"], first["hangup_cause"]) == (ringing.request_uuid, "ringing", None)
    assert (second["request_uuid"], second["status"], second["hangup_cause"]) == (ended.request_uuid, "busy", "17")
    assert (first["call_time_limit"], second["call_time_limit"]) == (60, 90)
    assert first["app_id"] == second["app_id"] == tenant.app.app_id
    assert second["hangup_reason"]["code"] == "busy"


def test_a_nested_field_is_refused():
    class Nested(FieldsBuiltOnce):
        items = serializers.ListField(child=serializers.CharField())

    with pytest.raises(TypeError, match="only flat fields"):
        Nested(data={"items": ["a"]}).is_valid()
