import signal
import threading

from django.core.management.base import BaseCommand

from callcenter import worker


class Command(BaseCommand):
    help = "Run the task workers and the sweeper without the web server."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=None)

    def handle(self, *, threads, **options):
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        worker.start(threads=threads)
        self.stdout.write("Worker running.")
        stopped.wait()
