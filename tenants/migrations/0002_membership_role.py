from django.db import migrations, models


def roles_from_staff_flag(apps, schema_editor):
    # Before roles, a staff login with a membership was a supervisor and anyone else an agent.
    Membership = apps.get_model("tenants", "Membership")
    Membership.objects.filter(user__is_staff=True).update(role="supervisor")


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.CharField(
                choices=[("agent", "Agent"), ("supervisor", "Supervisor"), ("org_admin", "Organization admin"),
                         ("viewer", "Read-only viewer")],
                default="agent",
                max_length=16,
            ),
        ),
        migrations.RunPython(roles_from_staff_flag, migrations.RunPython.noop),
    ]
