from django.db import migrations
from django.utils import timezone


def same_organization_key(apps, schema_editor):
    # A call's disposition must be one of its organization's: on PostgreSQL the database
    # holds it with a composite foreign key onto (disposition.id, disposition.organization_id).
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE agents_calldisposition ADD CONSTRAINT call_disposition_same_organization "
        "FOREIGN KEY (disposition_id, organization_id) REFERENCES agents_disposition (id, organization_id) "
        "DEFERRABLE INITIALLY DEFERRED"
    )


def drop_same_organization_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE agents_calldisposition DROP CONSTRAINT IF EXISTS call_disposition_same_organization"
        )


def open_states(apps, schema_editor):
    # Agents who existed before states were recorded start out as they were taken to be: available.
    Agent = apps.get_model("agents", "Agent")
    AgentState = apps.get_model("agents", "AgentState")
    now = timezone.now()
    AgentState.objects.bulk_create(
        AgentState(organization_id=agent.organization_id, agent=agent, state="available", started_at=now)
        for agent in Agent.objects.filter(is_active=True)
    )


class Migration(migrations.Migration):
    dependencies = [("agents", "0005_desk_states_dispositions_contacts_callbacks")]

    operations = [
        migrations.RunPython(same_organization_key, drop_same_organization_key),
        migrations.RunPython(open_states, migrations.RunPython.noop),
    ]
