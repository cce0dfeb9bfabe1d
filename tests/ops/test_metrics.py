"""/metrics: guarded by a bearer token, parsed as Prometheus reads it."""

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from calls import placement
from tests import migrated
from tests.faults.conftest import App, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-token-for-tests"


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return parse(response.content.decode())


def parse(text):
    """{(sample name, frozenset(labels)): value} of every sample."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_is_not_found_without_a_token_setting(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_metrics_wants_the_right_bearer_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401
    assert b"callcenter_" not in missing.content


def test_a_scrape_counts_calls_webhooks_requests_and_the_queue(client, settings, tenant, webhook_server, run_tasks):
    settings.METRICS_TOKEN = TOKEN
    webhook_server.responses["/hangup"] = (500, {"error": "down"}, 0)
    before = scrape(client)

    body = {"from": tenant.from_number, "to": "+918000000001", "answer_url": webhook_server.url("/answer"),
            "ring_url": webhook_server.url("/ring"), "hangup_url": webhook_server.url("/hangup")}
    assert tenant.api.post("/superfone/sfvopi/calls", body, format="json").status_code == 200
    queued = scrape(client)
    assert value(queued, "callcenter_task_queue_depth") >= 1
    assert value(queued, "callcenter_calls_live", status="queued", carrier="sandbox") == 1

    run_tasks(wait=3)
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("callcenter_calls_total", status="completed", carrier="sandbox") == 1
    assert grew("callcenter_calls_total", status="ringing", carrier="sandbox") == 1
    assert grew("callcenter_call_placement_seconds_count", carrier="sandbox") == 1
    assert grew("callcenter_webhook_delivery_seconds_count", kind="ring", outcome="delivered") == 1
    assert grew("callcenter_webhook_delivery_seconds_count", kind="hangup", outcome="failed") == 1
    assert grew("callcenter_webhook_failures_total", kind="hangup") == 1
    assert grew("callcenter_webhook_dead_letters_total", kind="hangup") == 1
    assert grew("callcenter_http_request_duration_seconds_count",
                route="superfone/sfvopi/calls", method="POST", status="2xx") == 1
    assert value(after, "callcenter_task_queue_depth") == 0
    assert value(after, "callcenter_calls_live", status="queued", carrier="sandbox") == 0


def test_queue_age_is_the_oldest_due_task(client, settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    settings.METRICS_TOKEN = TOKEN
    placement.place_call.enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=90))

    samples = scrape(client)

    assert value(samples, "callcenter_task_queue_depth") == 1
    assert 89 < value(samples, "callcenter_task_queue_oldest_seconds") < 120


@pytest.mark.own_database("sqlite")
def test_one_scrape_of_the_web_process_sees_what_a_separate_worker_did(workdir, webhook_server):
    """Multiprocess mode: the worker records placements, the web process serves them."""
    import os

    app = App(migrated.sqlite_database(f"{workdir}/app.sqlite3"), workdir)
    metrics_dir = os.path.join(workdir, "prometheus")
    os.mkdir(metrics_dir)
    app.env.update({"PROMETHEUS_MULTIPROC_DIR": metrics_dir, "METRICS_TOKEN": TOKEN})
    import json

    demo = json.loads(app.manage("demo", "--json"))
    app.start_web()
    app.start("worker", "worker")
    try:
        created = requests.post(f"{app.base_url}/superfone/sfvopi/calls", headers={"X-API-Key": demo["api_key"]},
                                json={"from": demo["from_number"], "to": "+918000000005",
                                      "answer_url": webhook_server.url("/answer"),
                                      "hangup_url": webhook_server.url("/hangup")}, timeout=10)
        assert created.status_code == 200, created.text

        def seen():
            text = requests.get(f"{app.base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                                timeout=5).text
            samples = parse(text)
            return (value(samples, "callcenter_calls_total", status="busy", carrier="sandbox") == 1
                    and value(samples, "callcenter_webhook_delivery_seconds_count", kind="hangup",
                              outcome="delivered") == 1
                    and value(samples, "callcenter_http_request_duration_seconds_count",
                              route="superfone/sfvopi/calls", method="POST", status="2xx") == 1)

        wait_until(seen, 30, "the web process's /metrics did not show the worker's counts")
    finally:
        app.stop_all()
