from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What follows a call's move hangs off the lifecycle's one seam (calls/lifecycle.py).
        from calls import delivery, lifecycle, metrics, placement, realtime, recordings, timers
        from calls.carriers import sandbox
        from calls.media import bridge

        for receiver in (delivery.outbox_write, realtime.call_push, timers.timer_schedule,
                         placement.carrier_hangup_schedule, sandbox.answer_resolved, metrics.call_count,
                         bridge.call_ended, recordings.sandbox_call_ended):
            lifecycle.transitioned.connect(receiver, dispatch_uid=f"{receiver.__module__}.{receiver.__name__}")
        # A recording's file leaves with its row, whatever deletes it (retention's cascade too).
        from django.db.models.signals import post_delete

        from calls.models import Recording

        post_delete.connect(recordings.recording_file_delete, sender=Recording, dispatch_uid="recording_file_delete")
        # Idle workers of this process take a new task at once (calls/wakeup.py).
        from django_tasks.signals import task_enqueued
        from django_tasks_db.backend import DatabaseBackend

        from calls import wakeup

        task_enqueued.connect(wakeup.task_enqueued_ring, sender=DatabaseBackend, dispatch_uid="task_enqueued_ring")
