"""One request id, followed from the create request through the worker's tasks to the
customer's webhooks and every log line on the way."""

import io
import json
import logging

import pytest

from callcenter.logs import json_formatter
from calls.models import Call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_log():
    """Every log line of the test, as the production JSON handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


def create(tenant, webhook_server, **headers):
    body = {"from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
            "ring_url": webhook_server.url("/ring"), "hangup_url": webhook_server.url("/hangup")}
    return tenant.api.post("/superfone/sfvopi/calls", body, format="json", **headers)


def test_one_request_id_runs_from_the_create_to_the_webhooks_and_the_logs(tenant, webhook_server, run_tasks,
                                                                         json_log):
    rid = "7f3c2a9e-trace-0001"
    response = create(tenant, webhook_server, HTTP_X_REQUEST_ID=rid)
    assert response.status_code == 200
    assert response["X-Request-ID"] == rid

    run_tasks(wait=3)

    call = Call.objects.get(request_uuid=response.json()["data"]["request_uuid"])
    assert call.status == "completed"
    assert webhook_server.paths() == ["/ring", "/answer", "/hangup"]
    assert [r.headers.get("X-Request-ID") for r in webhook_server.received] == [rid, rid, rid]

    lines = json_log()
    mine = [line for line in lines if line.get("request_id") == rid]
    events = [line["event"] for line in mine]
    # The web side's request line, the worker's placement and each webhook it sent.
    assert any(line["logger"] == "callcenter.requests" and line["route"] == "superfone/sfvopi/calls"
               and line["status"] == 200 for line in mine)
    assert f"call {call.request_uuid} placed with sandbox" in events
    assert sum("delivered" in event and f"of call {call.pk}" in event for event in events) == 3
    for line in mine:
        assert {"timestamp", "level", "logger", "event"} <= set(line)
    # Nothing of this call was logged without it.
    assert not [line for line in lines if call.request_uuid in line["event"] and line.get("request_id") != rid]


def test_an_unusable_incoming_id_is_replaced_and_each_request_gets_its_own(tenant, webhook_server, run_tasks):
    first = create(tenant, webhook_server, HTTP_X_REQUEST_ID="bad id\twith spaces")
    second = create(tenant, webhook_server)

    assert first["X-Request-ID"] != "bad id\twith spaces"
    assert len(first["X-Request-ID"]) == 32 and len(second["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]
    run_tasks(wait=3)
    by_call = {}
    for received in webhook_server.received:
        by_call.setdefault(received.body["request_uuid"], set()).add(received.headers["X-Request-ID"])
    assert sorted(ids.pop() for ids in by_call.values() if len(ids) == 1) == sorted(
        [first["X-Request-ID"], second["X-Request-ID"]])


def test_the_console_format_is_readable_text(settings):
    from callcenter.logs import console_formatter
    from tenants import requestid

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(console_formatter())
    log = logging.getLogger("tests.ops.readable")
    log.addHandler(handler)
    try:
        with requestid.bound("abc123"):
            log.warning("something %s", "happened")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert "something happened" in text and "request_id=abc123" in text
    assert not text.lstrip().startswith("{")
