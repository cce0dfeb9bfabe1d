from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # After an agent's call ends, wrap-up (agents/states.py) hangs off the lifecycle's seam;
        # a session's end closes its sockets (agents/sessions.py).
        from agents import sessions, states
        from calls import lifecycle

        lifecycle.transitioned.connect(states.call_finished, dispatch_uid="agents.states.call_finished")
        sessions.connect()
