from django.apps import AppConfig


class FloorConfig(AppConfig):
    name = "floor"
    verbose_name = "Supervisor's floor"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from floor import audit

        audit.register()
