import uvicorn
from django.core.management.base import BaseCommand

from callcenter import worker


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets (ASGI) with the task worker and sweeper in the same process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Serve only; run `manage.py worker` separately."
        )

    def handle(self, *, host, port, no_worker, **options):
        if not no_worker:
            worker.start()
        self.stdout.write(f"Serving on http://{host}:{port}/ (worker {'off' if no_worker else 'on'})")
        # Uvicorn's lines go through our logging configuration (JSON or console, with request
        # ids); its access log is replaced by callcenter.logs.RequestIdMiddleware's line.
        uvicorn.run("callcenter.asgi:application", host=host, port=port, log_level="info", lifespan="off",
                    log_config=None, access_log=False)
