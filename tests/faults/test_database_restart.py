"""The database restarts under load: requests fail cleanly, then the app recovers by itself."""

import json
import threading
import time

import pytest
import requests

from tests.faults.conftest import App, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.own_database("postgresql"),  # a server of its own, which it restarts
]


def test_requests_fail_cleanly_while_the_database_is_down_and_recover_after(throwaway_postgres, workdir):
    app = App(throwaway_postgres.url, workdir)
    try:
        app.manage("migrate", "--verbosity", "0")
        demo = json.loads(app.manage("demo", "--json"))
        app.start_web()
        results = []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                started = time.monotonic()
                try:
                    response = requests.post(
                        f"{app.base_url}/superfone/sfvopi/calls",
                        headers={"X-API-Key": demo["api_key"]},
                        json={"from": demo["from_number"], "to": "+918000000006",
                              "answer_url": "http://127.0.0.1:9/answer"},
                        timeout=15,
                    )
                    results.append((started, time.monotonic(), response.status_code, response.text))
                except requests.RequestException as exc:
                    results.append((started, time.monotonic(), None, repr(exc)))
                time.sleep(0.02)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        wait_until(lambda: sum(1 for r in results if r[2] == 200) >= 20, 30, "no calls accepted before the restart")
        throwaway_postgres.stop()
        down_at = time.monotonic()
        time.sleep(2)
        throwaway_postgres.start()
        up_at = time.monotonic()
        wait_until(lambda: any(r[0] > up_at and r[2] == 200 for r in results), 30, "the app did not recover")
        time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        app.stop_all()

    during = [r for r in results if down_at < r[0] and r[1] < up_at]
    assert during, "no request was made while the database was down"
    # While the database was down the server kept answering "busy, retry" in the envelope,
    # not hanging or crashing.
    for _, _, status, text in during:
        assert status == 503, text
        assert json.loads(text) == {"message": "Service busy, retry shortly"}, text
    accepted = [json.loads(text)["data"]["request_uuid"] for _, _, status, text in results if status == 200]
    # Every call that was acknowledged was really stored.
    app.env["DATABASE_URL"] = throwaway_postgres.url
    stored = set(app.query(
        "import json; from calls.models import Call; "
        "print(json.dumps(list(Call.objects.values_list('request_uuid', flat=True))))"
    ))
    assert set(accepted) <= stored
