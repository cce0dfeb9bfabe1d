"""On PostgreSQL, a task row written ready to run now sends NOTIFY task_ready (calls/wakeup.py).

The trigger adds no statement to an enqueue: the INSERT itself notifies, and PostgreSQL
delivers the notification only when the enqueuing transaction commits. Tasks queued to
run later notify nothing (the workers' poll finds them once due); a task handed back to
READY (a stopping worker's, or a dead worker's) notifies too. Other databases: nothing.

Coalesced: PostgreSQL commits notifying transactions one at a time (through their WAL
flush), which cut concurrent autocommit enqueues from 500-600 to about 200 a second here
(pgbench, 4 clients). So only one enqueuing transaction at a time notifies, the one that
gets an advisory lock for the rest of its transaction; ones committing meanwhile skip
it: the workers that its notification wakes poll again after every task they run, and
the poll interval bounds the rest.
"""

from django.db import migrations

TABLE = "django_tasks_database_dbtaskresult"
# The advisory lock key held by the one enqueuing transaction that notifies.
NOTIFY_LOCK = 7302316
# django_tasks_db queues a task to run at once with this far-future run_after.
DUE_NOW = "(NEW.run_after >= TIMESTAMPTZ '9999-01-01 00:00:00+00' OR NEW.run_after <= clock_timestamp())"

CREATE = f"""
CREATE FUNCTION task_ready_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_try_advisory_xact_lock({NOTIFY_LOCK}) THEN
        PERFORM pg_notify('task_ready', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER task_ready_notify_insert AFTER INSERT ON {TABLE} FOR EACH ROW
    WHEN (NEW.status = 'READY' AND {DUE_NOW})
    EXECUTE FUNCTION task_ready_notify();
CREATE TRIGGER task_ready_notify_update AFTER UPDATE OF status ON {TABLE} FOR EACH ROW
    WHEN (NEW.status = 'READY' AND OLD.status <> 'READY' AND {DUE_NOW})
    EXECUTE FUNCTION task_ready_notify();
"""

DROP = f"""
DROP TRIGGER IF EXISTS task_ready_notify_update ON {TABLE};
DROP TRIGGER IF EXISTS task_ready_notify_insert ON {TABLE};
DROP FUNCTION IF EXISTS task_ready_notify();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0013_recordings"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
