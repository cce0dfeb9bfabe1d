"""One time zone per organization: the desk's own time zone moves onto the organization
(where the organization still has the default, UTC) and is removed."""

from django.db import migrations


def desk_zone_onto_organization(apps, schema_editor):
    DeskSettings = apps.get_model("agents", "DeskSettings")
    Organization = apps.get_model("tenants", "Organization")
    for organization_id, zone in (DeskSettings.objects.exclude(time_zone__in=["", "UTC"])
                                  .values_list("organization_id", "time_zone")):
        Organization.objects.filter(pk=organization_id, time_zone__in=["", "UTC"]).update(time_zone=zone)


class Migration(migrations.Migration):

    dependencies = [
        ("agents", "0009_disposition_updated_index"),
        ("tenants", "0003_organization_time_zone"),
    ]

    operations = [
        migrations.RunPython(desk_zone_onto_organization, migrations.RunPython.noop),
        migrations.RemoveField(model_name="desksettings", name="time_zone"),
    ]
