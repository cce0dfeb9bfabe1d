"""The organization foreign keys now point at tenants.Organization (the same table)."""

import django.db.models.deletion
from django.db import migrations, models


def _organization(related_name):
    return models.ForeignKey(
        on_delete=django.db.models.deletion.CASCADE, related_name=related_name, to="tenants.organization"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_carrier_callback_token_unique"),
        ("tenants", "0001_initial"),
    ]

    state_operations = [
        migrations.AlterField(model_name=model, name="organization", field=_organization(related_name))
        for model, related_name in [
            ("sfvopiapp", "apps"),
            ("linkednumber", "numbers"),
            ("carrieraccount", "carrier_accounts"),
            ("call", "calls"),
            ("webhookdelivery", "webhook_deliveries"),
            ("idempotencykey", "+"),
        ]
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
