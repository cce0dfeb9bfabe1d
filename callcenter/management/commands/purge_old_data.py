from django.core.management.base import BaseCommand

from callcenter import retention


class Command(BaseCommand):
    help = ("Delete finished calls (with their events and webhooks), delivered webhooks and finished task rows "
            "older than each organization's retention, in small batches. Live calls are never touched.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per transaction (RETENTION_BATCH_SIZE).")

    def handle(self, *, dry_run, batch_size, **options):
        counts = retention.purge(batch_size=batch_size, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for name, count in counts.items():
            self.stdout.write(f"{name}: {verb} {count}")
