"""Organization, Membership and OrganizationAPIKey move here from agents/.

Only Django's picture of the models moves: the tables keep their names (db_table), so no
row is copied. agents.0004 and calls.0007 point their foreign keys here and drop the old
picture.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("agents", "0003_consoleconnection"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="Organization",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"db_table": "agents_organization"},
        ),
        migrations.CreateModel(
            name="OrganizationAPIKey",
            fields=[
                ("id", models.CharField(editable=False, max_length=150, primary_key=True, serialize=False, unique=True)),
                ("prefix", models.CharField(editable=False, max_length=8, unique=True)),
                ("hashed_key", models.CharField(editable=False, max_length=150)),
                ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("name", models.CharField(default=None, help_text="A free-form name for the API key. Need not be unique. 50 characters max.", max_length=50)),
                ("revoked", models.BooleanField(blank=True, default=False, help_text="If the API key is revoked, clients cannot use it anymore. (This cannot be undone.)")),
                ("expiry_date", models.DateTimeField(blank=True, help_text="Once API key expires, clients cannot use it anymore.", null=True, verbose_name="Expires")),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_keys", to="tenants.organization")),
            ],
            options={
                "verbose_name": "API key",
                "verbose_name_plural": "API keys",
                "ordering": ("-created",),
                "abstract": False,
                "db_table": "agents_organizationapikey",
            },
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="tenants.organization")),
                ("user", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="membership", to=settings.AUTH_USER_MODEL)),
            ],
            options={"db_table": "agents_membership"},
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
