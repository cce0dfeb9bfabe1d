"""Organization, Membership and OrganizationAPIKey now live in tenants/ (same tables)."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["organization", "membership", "organizationapikey"]


def content_types_to_tenants(apps, schema_editor):
    # Admin log entries and permissions follow the models to their new app.
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label="tenants", model=model).exists():
            ContentType.objects.filter(app_label="agents", model=model).update(app_label="tenants")


def content_types_to_agents(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="tenants", model__in=MOVED).update(app_label="agents")


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0003_consoleconnection"),
        ("calls", "0007_organization_in_tenants"),
        ("tenants", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    state_operations = [
        migrations.AlterField(
            model_name="agent",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="agents", to="tenants.organization"
            ),
        ),
        migrations.AlterField(
            model_name="clicktocallnotification",
            name="organization",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="notifications", to="tenants.organization"
            ),
        ),
        migrations.DeleteModel(name="Membership"),
        migrations.DeleteModel(name="OrganizationAPIKey"),
        migrations.DeleteModel(name="Organization"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.RunPython(content_types_to_tenants, content_types_to_agents),
    ]
