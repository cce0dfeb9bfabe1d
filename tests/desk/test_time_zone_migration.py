"""The desk's time zone moves onto its organization when the field goes away (agents 0010)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("agents", "0009_disposition_updated_index"), ("tenants", "0003_organization_time_zone")]
AFTER = [("agents", "0010_desk_time_zone_onto_organization")]


@pytest.mark.django_db(transaction=True)
def test_a_desk_time_zone_moves_onto_an_organization_still_in_utc():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Organization = apps.get_model("tenants", "Organization")
    DeskSettings = apps.get_model("agents", "DeskSettings")
    in_utc = Organization.objects.create(name="Still UTC")
    own_zone = Organization.objects.create(name="Own zone", time_zone="Europe/Berlin")
    desk_default = Organization.objects.create(name="Desk default")
    DeskSettings.objects.create(organization=in_utc, time_zone="Asia/Kolkata")
    DeskSettings.objects.create(organization=own_zone, time_zone="Asia/Kathmandu")
    DeskSettings.objects.create(organization=desk_default, time_zone="UTC")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    zones = dict(apps.get_model("tenants", "Organization").objects.values_list("name", "time_zone"))
    # Copied where the organization had none of its own; an organization's own zone wins.
    assert zones == {"Still UTC": "Asia/Kolkata", "Own zone": "Europe/Berlin", "Desk default": "UTC"}
    assert "time_zone" not in {f.name for f in apps.get_model("agents", "DeskSettings")._meta.get_fields()}
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
