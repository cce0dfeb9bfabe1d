from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What follows a call's move hangs off the lifecycle's one seam (calls/lifecycle.py).
        from calls import delivery, lifecycle, metrics, placement, realtime, timers
        from calls.carriers import sandbox

        for receiver in (delivery.outbox_write, realtime.call_push, timers.timer_schedule,
                         placement.carrier_hangup_schedule, sandbox.answer_resolved, metrics.call_count):
            lifecycle.transitioned.connect(receiver, dispatch_uid=f"{receiver.__module__}.{receiver.__name__}")
