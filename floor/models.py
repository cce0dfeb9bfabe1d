from auditlog.models import LogEntry
from django.db import models


class AuditEntry(LogEntry):
    """The audit trail as a supervisor sees it in admin: their organization's changes only."""

    class Meta:
        proxy = True
        verbose_name = "change (audit trail)"
        verbose_name_plural = "audit trail"


# The floor's rollup ----------------------------------------------------------------------
#
# Reports over long periods sum these rows instead of every call and state interval. A
# bucket is a quarter of an hour of UTC: every time zone in use today is offset from UTC by
# a whole number of quarter hours (Asia/Kolkata +5:30, Asia/Kathmandu +5:45, Chatham
# +12:45), so each bucket lies inside one local hour and one local day of any organization,
# and sums of buckets give local hours and days exactly. floor/rollup.py writes them.


class CallFigure(models.Model):
    """The calls an agent (or nobody: API calls) placed in one quarter hour."""

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    bucket = models.DateTimeField(help_text="Start of the quarter hour (UTC)")
    placed = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    talk_seconds = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "bucket"], name="call_figure_org_bucket")]


class StateFigure(models.Model):
    """Time an agent spent in one state (Paused: with one reason) during one quarter hour."""

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="+")
    bucket = models.DateTimeField(help_text="Start of the quarter hour (UTC)")
    state = models.CharField(max_length=10)
    pause_reason = models.ForeignKey("agents.PauseReason", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # Microseconds, so sums are exact (the raw figures sum intervals to the microsecond).
    microseconds = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "bucket"], name="state_figure_org_bucket")]


class DispositionFigure(models.Model):
    """How many calls placed in one quarter hour got one outcome, and their talk time."""

    organization = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    disposition = models.ForeignKey("agents.Disposition", on_delete=models.CASCADE, related_name="+")
    bucket = models.DateTimeField(help_text="Start of the quarter hour (UTC) the calls were placed in")
    calls = models.PositiveIntegerField(default=0)
    talk_seconds = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["organization", "bucket"], name="disposition_figure_org_bucket")]


class FigureMark(models.Model):
    """How far an organization's rollup reaches: every bucket before `rolled_until` is summed,
    and dispositions saved before `checked_at` are in it."""

    organization = models.OneToOneField("tenants.Organization", on_delete=models.CASCADE, related_name="+")
    rolled_until = models.DateTimeField()
    checked_at = models.DateTimeField()
