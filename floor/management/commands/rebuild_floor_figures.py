"""Sum the floor's rollup again from the raw calls, state intervals and dispositions."""

import time

from django.core.management.base import BaseCommand, CommandError

from floor import rollup
from tenants.models import Organization


class Command(BaseCommand):
    help = ("Forget the floor's rollup (calls, state time, dispositions per agent and quarter hour) and sum it "
            "again from the raw tables: every organization, or the one given")

    def add_arguments(self, parser):
        parser.add_argument("--organization", type=int, help="the organization's id (default: all)")

    def handle(self, *args, organization=None, **options):
        ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
        if organization is not None:
            if organization not in ids:
                raise CommandError(f"No organization with id {organization}")
            ids = [organization]
        for organization_id in ids:
            started = time.perf_counter()
            mark = rollup.rebuild(organization_id)
            until = mark.rolled_until.isoformat() if mark else "-"
            self.stdout.write(f"organization {organization_id}: summed up to {until} "
                              f"in {time.perf_counter() - started:.1f} s")
