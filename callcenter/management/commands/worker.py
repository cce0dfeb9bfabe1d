import signal
import threading

from django.core.management.base import BaseCommand

from callcenter import metrics, worker


class Command(BaseCommand):
    help = "Run the task workers and the sweeper without the web server."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=None)

    def handle(self, *, threads, **options):
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        running = worker.start(threads=threads)
        self.stdout.write("Worker running.")
        stopped.wait()
        # SIGTERM: finish the running tasks (up to WORKER_SHUTDOWN_GRACE), hand back the rest.
        self.stdout.write("Worker stopping.")
        running.shutdown()
        metrics.process_exit()
