import signal

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from callcenter import metrics, worker


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets (ASGI) with the task worker and sweeper in the same process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="Serve only; run `manage.py worker` separately."
        )

    def handle(self, *, host, port, no_worker, **options):
        running = None if no_worker else worker.start()
        # Uvicorn takes SIGTERM/SIGINT while it serves and raises them again once it has shut
        # down; these handlers take that second delivery, so the worker threads below still
        # get their graceful stop instead of the process dying at once.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        self.stdout.write(f"Serving on http://{host}:{port}/ (worker {'off' if no_worker else 'on'})")
        # Uvicorn's lines go through our logging configuration (JSON or console, with request
        # ids); its access log is replaced by callcenter.logs.RequestIdMiddleware's line.
        # ASGI_APPLICATION names the app as module.attribute; uvicorn takes module:attribute.
        module, attribute = settings.ASGI_APPLICATION.rsplit(".", 1)
        uvicorn.run(f"{module}:{attribute}", host=host, port=port, log_level="info", lifespan="off",
                    log_config=None, access_log=False,
                    # No permessage-deflate: with it each socket compresses each push again
                    # (its own compression context), so a push to 500 wallboards cost 500
                    # compressions, about 0.5 ms of CPU each, for frames of a few hundred
                    # bytes. Browsers that offer it get plain frames (docs/performance.md).
                    ws_per_message_deflate=False,
                    # SIGTERM: stop accepting, let requests finish for this long; sockets are
                    # closed with 1012 ("service restart"), which the pages reconnect after.
                    timeout_graceful_shutdown=settings.WEB_SHUTDOWN_GRACE)
        if running is not None:
            running.shutdown()
        metrics.process_exit()
