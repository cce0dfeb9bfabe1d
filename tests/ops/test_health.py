"""/healthz and /readyz: what a load balancer polls every second."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from calls import placement
from calls.models import WorkerHeartbeat
from tests import migrated
from tests.conftest import needs
from tests.faults.conftest import App, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def beating_worker(db):
    return WorkerHeartbeat.objects.create(worker_id="probe-test", seen_at=timezone.now())


def test_healthz_answers_ok_to_any_host_without_a_session(client):
    # A probe names the pod's address, not a host in ALLOWED_HOSTS, and sends no cookies.
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert "Content-Security-Policy" not in response.headers


def test_readyz_is_ok_with_the_database_up_a_worker_beating_and_no_backlog(client, beating_worker):
    response = client.get("/readyz", HTTP_HOST="10.1.2.3")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_the_workers_when_none_has_beaten_lately(client, beating_worker):
    beating_worker.seen_at = timezone.now() - timedelta(minutes=1)
    beating_worker.save()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["workers"]}


def test_readyz_names_the_task_queue_when_its_oldest_task_waits_too_long(client, beating_worker, settings):
    settings.READY_QUEUE_LAG_SECONDS = 30
    placement.place_call.enqueue(1)
    assert client.get("/readyz").status_code == 200

    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=45))
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["task_queue"]


def test_a_task_due_later_does_not_count_as_waiting(client, beating_worker):
    placement.place_call.using(run_after=timezone.now() + timedelta(hours=1)).enqueue(1)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(hours=2))

    assert client.get("/readyz").status_code == 200


def test_other_methods_and_paths_are_left_to_the_app(client):
    assert client.post("/healthz").status_code in (403, 404, 405)
    assert client.get("/healthz/extra").status_code == 404


# --- with real servers of their own, stopped under the app ---


def _ready(app):
    try:
        response = requests.get(f"{app.base_url}/readyz", timeout=5)
    except requests.RequestException:
        return None
    return response.status_code, response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.own_database("postgresql")
def test_readyz_turns_503_naming_the_database_when_postgresql_stops(throwaway_postgres, workdir):
    app = App(throwaway_postgres.url, workdir)
    app.manage("migrate", "--verbosity", "0")
    app.start("web", "serve", "--port", str(app.port))  # with its worker, so heartbeats exist
    try:
        wait_until(lambda: _ready(app) == (200, {"status": "ok"}), 30, "never ready")

        throwaway_postgres.stop()
        wait_until(lambda: _ready(app) == (503, {"status": "unavailable", "failing": ["database"]}), 15,
                   "readyz did not name the database")
        assert requests.get(f"{app.base_url}/healthz", timeout=5).status_code == 200  # the process is up

        throwaway_postgres.start()
        wait_until(lambda: _ready(app) == (200, {"status": "ok"}), 30, "not ready again after the restart")
    finally:
        app.stop_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.own_database("sqlite")
def test_readyz_turns_503_naming_the_channel_layer_when_redis_stops(workdir):
    import shutil

    needs(bool(shutil.which("redis-server")), "redis-server")
    from tests.faults.test_redis_down import ThrowawayRedis

    redis_server = ThrowawayRedis(workdir)
    redis_server.start()
    app = App(migrated.sqlite_database(f"{workdir}/app.sqlite3"), workdir)
    app.env["REDIS_URL"] = f"redis://127.0.0.1:{redis_server.port}/0"
    app.start("web", "serve", "--port", str(app.port))
    try:
        wait_until(lambda: _ready(app) == (200, {"status": "ok"}), 30, "never ready")

        redis_server.kill()
        wait_until(lambda: _ready(app) == (503, {"status": "unavailable", "failing": ["channel_layer"]}), 15,
                   "readyz did not name the channel layer")

        redis_server.start()  # the same port
        wait_until(lambda: _ready(app) == (200, {"status": "ok"}), 30, "not ready again after Redis came back")
    finally:
        app.stop_all()
        if redis_server.process and redis_server.process.poll() is None:
            redis_server.kill()
