from auditlog.models import LogEntry


class AuditEntry(LogEntry):
    """The audit trail as a supervisor sees it in admin: their organization's changes only."""

    class Meta:
        proxy = True
        verbose_name = "change (audit trail)"
        verbose_name_plural = "audit trail"
