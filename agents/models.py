from django.conf import settings
from django.db import models

from tenants.models import Organization


class Agent(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    number = models.CharField(max_length=16, help_text="E.164, the agent's own phone")
    click_to_call_enabled = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="agent_number_unique_in_org"),
        ]

    def __str__(self):
        return f"{self.user.get_username()} ({self.number})"


class ClickToCallNotification(models.Model):
    """One START or END request of the click-to-call API; its id is the notificationID."""

    class Action(models.TextChoices):
        START = "START"
        END = "END"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notifications")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="notifications")
    action = models.CharField(max_length=5, choices=Action.choices)
    customer_number = models.CharField(max_length=16)
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sent_success = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.action} {self.customer_number} for {self.agent}"


class ConsoleConnection(models.Model):
    """One open console tab of an agent: a row per WebSocket, so every process can see who is listening.

    Tabs send a heartbeat that moves `seen_at`; a row whose process died without closing it
    stops counting once `seen_at` is older than agents.selectors.PRESENCE_WINDOW.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="console_connections")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.agent} on {self.channel_name}"
