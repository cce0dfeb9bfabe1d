"""Writes: every change to apps, numbers and calls goes through one of these functions."""

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from calls import lifecycle, tasks
from calls.delivery import redeliver
from calls.errors import ServiceError
from calls.models import Call, CarrierAccount, CarrierKind, LinkedNumber, SfvopiApp, new_webhook_secret

APP_FIELDS = (
    "name",
    "answer_url",
    "answer_method",
    "hangup_url",
    "hangup_method",
    "fallback_answer_url",
    "fallback_answer_method",
    "status",
    "retry_webhooks",
)


def app_create(*, organization, created_by=None, **fields):
    return SfvopiApp.objects.create(organization=organization, created_by=created_by, **fields)


def app_update(*, app, **fields):
    for name, value in fields.items():
        if name in APP_FIELDS:
            setattr(app, name, value)
    app.updated_at = timezone.now()
    app.save()
    return app


def app_webhook_secret_rotate(*, app):
    """Give the app a new signing secret; the old one keeps signing too for a day."""
    app.previous_webhook_secret = app.webhook_secret
    app.webhook_secret = new_webhook_secret()
    app.webhook_secret_rotated_at = timezone.now()
    app.save(update_fields=["previous_webhook_secret", "webhook_secret", "webhook_secret_rotated_at"])
    return app


@transaction.atomic
def app_delete(*, app):
    """Delete an app; its numbers go back to the organization's pool."""
    LinkedNumber.objects.filter(app=app).update(app=None, linked_at=None, updated_at=timezone.now())
    app.delete()


def number_link(*, app, number):
    with transaction.atomic():
        linked = (
            LinkedNumber.objects.select_for_update()
            .filter(organization_id=app.organization_id, number=number)
            .first()
        )
        if linked is None:
            raise ServiceError("VoIP number not found or does not belong to this org", code="number_not_found")
        if linked.app_id and linked.app_id != app.pk:
            raise ServiceError(
                "VoIP number is already linked to another SFVoPI app", status=409, code="number_linked_elsewhere"
            )
        if linked.app_id != app.pk:
            now = timezone.now()
            linked.app = app
            linked.linked_at = now
            linked.updated_at = now
            linked.save()
        return linked


def number_unlink(*, app, number):
    updated = LinkedNumber.objects.filter(app=app, number=number).update(
        app=None, linked_at=None, updated_at=timezone.now()
    )
    if not updated:
        raise ServiceError("Number not linked to this app", status=404, code="number_not_linked")


def carrier_account_for(organization):
    """The organization's default carrier account; None means the built-in sandbox."""
    return CarrierAccount.objects.filter(organization=organization, is_default=True).first()


def call_create(
    *,
    organization,
    from_number,
    to_number,
    answer_url,
    answer_method="POST",
    ring_url="",
    ring_method="POST",
    hangup_url="",
    hangup_method="POST",
    call_time_limit=14400,
    ring_timeout=60,
):
    """Queue an outbound SFVoPI call. Placing it happens in the background once this commits."""
    # One query finds the app behind the number and the organization's carrier account.
    default_account = CarrierAccount.objects.filter(organization=OuterRef("organization"), is_default=True)
    linked = (
        LinkedNumber.objects.select_related("app")
        .filter(
            organization=organization,
            number=from_number,
            app__isnull=False,
            app__status=SfvopiApp.Status.ACTIVE,
        )
        .annotate(
            carrier_account_id=Subquery(default_account.values("pk")[:1]),
            carrier_kind=Subquery(default_account.values("kind")[:1]),
        )
        .first()
    )
    if linked is None:
        raise ServiceError(
            f"VoIP number {from_number} is not linked to any SFVoPI app for this org", code="number_not_linked"
        )
    app = linked.app
    call = Call.objects.create(
        organization=organization,
        app=app,
        from_number=from_number,
        to_number=to_number,
        answer_url=answer_url,
        answer_method=answer_method,
        ring_url=ring_url or "",
        ring_method=ring_method,
        hangup_url=hangup_url or app.hangup_url or "",
        hangup_method=hangup_method if hangup_url else app.hangup_method,
        fallback_answer_url=app.fallback_answer_url or "",
        fallback_answer_method=app.fallback_answer_method,
        call_time_limit=call_time_limit,
        ring_timeout=ring_timeout,
        carrier=linked.carrier_kind or CarrierKind.SANDBOX,
        carrier_account_id=linked.carrier_account_id,
    )
    # Runs at once, or when an enclosing transaction (an idempotency key's) commits.
    transaction.on_commit(lambda: tasks.place_call.enqueue(call.pk))
    return call


def call_hangup(*, call):
    """Hang up a live call: before answer it is CANCELED, after answer COMPLETED."""
    if not call.is_live:
        raise ServiceError(f"Call {call.request_uuid} has already ended ({call.status})", status=409, code="call_ended")
    outcome = lifecycle.end(call.pk, source="api", reason="hangup")
    if not outcome.applied:
        raise ServiceError(
            f"Call {call.request_uuid} has already ended ({outcome.call.status})", status=409, code="call_ended"
        )
    return outcome.call


def number_create(*, organization, number, app=None):
    """Add a VoIP number (E.164) to the organization's pool, linked to `app` when given."""
    try:
        with transaction.atomic():
            linked = LinkedNumber.objects.create(organization=organization, number=number)
            return number_link(app=app, number=number) if app else linked
    except IntegrityError:
        # Numbers are unique across organizations: a taken one is refused, whoever holds it.
        raise ServiceError(f"VoIP number {number} is already registered", status=409, code="number_taken") from None


def number_delete(*, linked):
    """Remove a number from the organization's pool; calls it placed keep their record."""
    linked.delete()


def webhook_delivery_redeliver(*, delivery):
    """Send a failed (dead-letter) webhook once more."""
    if not redeliver(delivery):
        raise ServiceError(
            f"Only failed deliveries can be redelivered; this one is {delivery.state}",
            status=409,
            code="delivery_not_failed",
        )
    delivery.refresh_from_db()
    return delivery
