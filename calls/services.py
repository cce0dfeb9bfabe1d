"""Writes about calls, apps, numbers, carrier accounts and webhook deliveries.

Every door (SFVoPI, click-to-call, /api/v1, the console, admin) changes these through the
functions here: `call_create` is the one creator of a Call, and a call's status then moves
only through calls/lifecycle.py.
"""

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls import lifecycle, placement, realtime, urlguard
from calls.carriers import registry
from calls.delivery import redeliver
from calls.models import (
    DEFAULT_CALL_TIME_LIMIT,
    DEFAULT_RING_TIMEOUT,
    LIVE_STATUSES,
    Call,
    CarrierAccount,
    CarrierKind,
    DoNotCallNumber,
    LinkedNumber,
    RecordingPolicy,
    SfvopiApp,
    WebhookDelivery,
    new_webhook_secret,
)
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.errors import ServiceError
from tenants.models import Organization

AGENT_BUSY = "Agent is already on a call; end it before starting another"

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
    "caller_name",
    "send_digits",
    "machine_detection",
)


def app_create(*, organization: Organization, created_by=None, **fields) -> SfvopiApp:
    return SfvopiApp.objects.create(
        organization=organization, created_by=created_by,
        **{name: value for name, value in fields.items() if name in APP_FIELDS},
    )


def app_update(*, app: SfvopiApp, **fields) -> SfvopiApp:
    for name, value in fields.items():
        if name in APP_FIELDS:
            setattr(app, name, value)
    app.updated_at = timezone.now()
    app.save()
    return app


def app_webhook_secret_rotate(*, app: SfvopiApp) -> SfvopiApp:
    """Give the app a new signing secret; the old one keeps signing too for a day."""
    app.previous_webhook_secret = app.webhook_secret
    app.webhook_secret = new_webhook_secret()
    app.webhook_secret_rotated_at = timezone.now()
    app.save(update_fields=["previous_webhook_secret", "webhook_secret", "webhook_secret_rotated_at"])
    return app


@transaction.atomic
def app_delete(*, app: SfvopiApp) -> None:
    """Delete an app; its numbers go back to the organization's pool."""
    LinkedNumber.objects.filter(app=app).update(app=None, linked_at=None, updated_at=timezone.now())
    app.delete()


def number_link(*, app: SfvopiApp, number: str) -> LinkedNumber:
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


def number_unlink(*, app: SfvopiApp, number: str) -> None:
    updated = LinkedNumber.objects.filter(app=app, number=number).update(
        app=None, linked_at=None, updated_at=timezone.now()
    )
    if not updated:
        raise ServiceError("Number not linked to this app", status=404, code="number_not_linked")


CARRIER_ACCOUNT_FIELDS = (
    "name",
    "kind",
    "base_url",
    "caller_id",
    "calls_per_second",
    "max_concurrent_calls",
    "is_default",
)


def carrier_account_save(*, account: CarrierAccount | None, organization: Organization, **fields) -> CarrierAccount:
    """Create (account None) or change a carrier account; `credentials` replaces the stored ones."""
    if fields.get("base_url"):
        try:
            # Staff save this; the name is resolved now as well as at every send.
            urlguard.check_url_resolving(fields["base_url"])
        except urlguard.UnsafeURL as exc:
            raise ServiceError(str(exc), status=400, code="unsafe_url") from None
    account = account or CarrierAccount(organization=organization)
    for name, value in fields.items():
        if name in CARRIER_ACCOUNT_FIELDS or name == "credentials":
            setattr(account, name, value)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise ServiceError(
            "The organization has a default carrier account already; unmark it first",
            status=409,
            code="default_carrier_taken",
        ) from None
    return account


def carrier_account_for(organization: Organization) -> CarrierAccount | None:
    """The organization's default carrier account; None means the built-in sandbox."""
    return CarrierAccount.objects.filter(organization=organization, is_default=True).first()


# The do-not-call list

def do_not_call_add(*, organization_id: int, number: str, source: str = DoNotCallNumber.Source.ADMIN,
                    reason: str = "", call: Call | None = None) -> DoNotCallNumber:
    """Put `number` on the organization's do-not-call list (again: the first entry stays)."""
    try:
        number = to_e164(number)
    except InvalidPhoneNumber as exc:
        raise ServiceError(str(exc), status=400, code="invalid_number") from None
    if len(reason) > 200:
        raise ServiceError("The reason is longer than 200 characters", status=400, code="reason_too_long")
    row, _ = DoNotCallNumber.objects.get_or_create(
        organization_id=organization_id, number=number,
        defaults={"source": source, "reason": reason, "call": call},
    )
    return row


def do_not_call_remove(*, organization_id: int, number: str) -> bool:
    """Take `number` off the organization's do-not-call list; whether it was on it."""
    deleted, _ = DoNotCallNumber.objects.filter(organization_id=organization_id, number=number).delete()
    return bool(deleted)


def _do_not_call_refuse(to_number: str) -> ServiceError:
    return ServiceError(
        f"{to_number} is on the organization's do-not-call list", status=400, code="number_do_not_call"
    )


def do_not_call_check(*, organization_id: int, number: str) -> None:
    """Refuse `number` (E.164) when it is on the organization's do-not-call list."""
    if DoNotCallNumber.objects.filter(organization_id=organization_id, number=number).exists():
        raise _do_not_call_refuse(number)


@dataclass(frozen=True)
class _Route:
    app: SfvopiApp
    carrier: str
    carrier_account_id: int | None
    do_not_call: bool


@functools.cache
def _route_sql() -> str:
    app, linked, account, dnc = SfvopiApp._meta, LinkedNumber._meta, CarrierAccount._meta, DoNotCallNumber._meta

    def col(meta, name):
        return meta.get_field(name).column

    return (
        f"SELECT a.*, c.{col(account, 'id')} AS route_account_id, c.{col(account, 'kind')} AS route_carrier_kind,"
        f" EXISTS (SELECT 1 FROM {dnc.db_table} d WHERE d.{col(dnc, 'organization')} = l.{col(linked, 'organization')}"
        f" AND d.{col(dnc, 'number')} = %s) AS route_do_not_call"
        f" FROM {linked.db_table} l JOIN {app.db_table} a ON a.{col(app, 'id')} = l.{col(linked, 'app')}"
        f" LEFT JOIN {account.db_table} c ON c.{col(account, 'organization')} = l.{col(linked, 'organization')}"
        f" AND c.{col(account, 'is_default')}"
        f" WHERE l.{col(linked, 'organization')} = %s AND l.{col(linked, 'number')} = %s AND a.{col(app, 'status')} = %s"
    )


def _sfvopi_route(organization: Organization, from_number: str, to_number: str) -> _Route:
    """The active app behind `from_number`, the organization's carrier and whether
    `to_number` is on its do-not-call list, in one query.

    Written as SQL because it runs on every SFVoPI create-call: the ORM spent more CPU
    building this statement than PostgreSQL spends running it. Numbers are unique and an
    organization has at most one default carrier account (one_default_carrier_per_org),
    so it finds at most one row.
    """
    rows = list(SfvopiApp.objects.raw(_route_sql(), [to_number, organization.pk, from_number, SfvopiApp.Status.ACTIVE]))
    if not rows:
        raise ServiceError(
            f"VoIP number {from_number} is not linked to any SFVoPI app for this org", code="number_not_linked"
        )
    app: Any = rows[0]
    return _Route(app, app.route_carrier_kind or CarrierKind.SANDBOX, app.route_account_id, bool(app.route_do_not_call))


def _caller_id(organization: Organization, account: CarrierAccount | None) -> tuple[str | None, SfvopiApp | None]:
    """The number customers see on a bridged call and the app whose webhooks it reports to.

    The carrier account's caller ID when set, else the organization's first number
    linked to an active app.
    """
    active_links = LinkedNumber.objects.select_related("app").filter(
        organization=organization, app__isnull=False, app__status=SfvopiApp.Status.ACTIVE
    )
    if account and account.caller_id:
        linked = active_links.filter(number=account.caller_id).first()
        return account.caller_id, linked.app if linked else None
    linked = active_links.order_by("number").first()
    return (linked.number, linked.app) if linked else (None, None)


def call_create(
    *,
    organization: Organization,
    to_number: str,
    from_number: str | None = None,
    agent=None,
    answer_url: str = "",
    answer_method: str = "POST",
    ring_url: str = "",
    ring_method: str = "POST",
    hangup_url: str = "",
    hangup_method: str = "POST",
    call_time_limit: int = DEFAULT_CALL_TIME_LIMIT,
    ring_timeout: int = DEFAULT_RING_TIMEOUT,
    record: bool | None = None,
) -> Call:
    """Queue an outbound call; placing it happens in the background once this commits.

    An SFVoPI call (no `agent`) leaves from `from_number`, which must be linked to an active
    app, and reports to the given webhook URLs (the app's hangup and fallback URLs fill in).
    A click-to-call call (`agent` given) rings the agent's phone first, then `to_number`, from
    the organization's caller ID. `record` asks for a recording; left out, an agent's call
    follows the organization's recording policy and an SFVoPI call is not recorded. One
    live call per agent is the database's rule (the `one_live_call_per_agent` partial unique
    constraint), so two requests racing for one agent cannot both win. A number on the
    organization's do-not-call list is refused at every door.
    """
    app: SfvopiApp | None
    if agent is None:
        route = _sfvopi_route(organization, from_number or "", to_number)
        if route.do_not_call:
            raise _do_not_call_refuse(to_number)
        app = route.app
        fields: dict[str, Any] = {
            "kind": Call.Kind.API,
            "from_number": from_number,
            "answer_url": answer_url,
            "answer_method": answer_method,
            "ring_url": ring_url or "",
            "ring_method": ring_method,
            "hangup_url": hangup_url or app.hangup_url or "",
            "hangup_method": hangup_method if hangup_url else app.hangup_method,
            "fallback_answer_url": app.fallback_answer_url or "",
            "fallback_answer_method": app.fallback_answer_method,
            "carrier": route.carrier,
            "carrier_account_id": route.carrier_account_id,
        }
    else:
        do_not_call_check(organization_id=organization.pk, number=to_number)
        account = carrier_account_for(organization)
        caller_id, app = _caller_id(organization, account)
        if caller_id is None:
            raise ServiceError(
                "The organization has no number to call from: link a number to an active app or set a caller ID",
                status=422,
                code="no_caller_id",
            )
        fields = {
            "kind": Call.Kind.CLICK_TO_CALL,
            "agent": agent,
            "from_number": caller_id,
            "hangup_url": (app.hangup_url or "") if app else "",
            "hangup_method": app.hangup_method if app else "POST",
            "carrier": account.kind if account else CarrierKind.SANDBOX,
            "carrier_account": account,
        }
    # Every live call has a deadline; a queued one is failed if it is not placed in time.
    deadline = timezone.now() + timedelta(seconds=settings.CALL_QUEUE_TIMEOUT)
    if record is None:
        record = agent is not None and RecordingPolicy.objects.filter(
            organization=organization, record_agent_calls=True
        ).exists()
    fields["record"] = record
    row = {"organization": organization, "app": app, "to_number": to_number, "deadline_at": deadline,
           "call_time_limit": call_time_limit, "ring_timeout": ring_timeout, **fields}
    if agent is None:
        call = Call.objects.create(**row)
    else:
        try:
            with transaction.atomic():
                call = Call.objects.create(**row)
        except IntegrityError:
            if Call.objects.filter(agent=agent, status__in=LIVE_STATUSES).exists():
                raise ServiceError(AGENT_BUSY, status=409, code="agent_busy") from None
            raise
    # Runs at once, or when an enclosing transaction (an idempotency key's) commits.
    placement.placement_enqueue(call)
    # Wallboards see a call as soon as it exists, not at its first status change.
    transaction.on_commit(lambda: realtime.call_changed(call))
    return call


def call_hangup(*, call: Call) -> Call:
    """Hang up a live call: before answer it is CANCELED, after answer COMPLETED (ENDED when
    its carrier reports no progress). A call its carrier cannot end from our side is refused
    rather than shown as ended while it goes on."""
    if not call.is_live:
        raise ServiceError(f"Call {call.request_uuid} has already ended ({call.status})", status=409, code="call_ended")
    if call.carrier_call_id and not registry.for_call(call).can_hang_up(call):
        raise ServiceError(
            f"The {call.get_carrier_display()} carrier offers no hang-up for this call; it ends when a party "
            "hangs up or at its call_time_limit",
            status=409,
            code="hangup_unsupported",
        )
    outcome = lifecycle.end(call.pk, source="api", reason="hangup")
    if not outcome.applied:
        raise ServiceError(
            f"Call {call.request_uuid} has already ended ({outcome.call.status})", status=409, code="call_ended"
        )
    return outcome.call


def number_create(*, organization: Organization, number: str, app: SfvopiApp | None = None) -> LinkedNumber:
    """Add a VoIP number (E.164) to the organization's pool, linked to `app` when given."""
    try:
        with transaction.atomic():
            linked = LinkedNumber.objects.create(organization=organization, number=number)
            return number_link(app=app, number=number) if app else linked
    except IntegrityError:
        # Numbers are unique across organizations: a taken one is refused, whoever holds it.
        # The message says no more than that it is unavailable: not whether, or where, it is held.
        raise ServiceError(f"VoIP number {number} is not available", status=409, code="number_taken") from None


def number_delete(*, linked: LinkedNumber) -> None:
    """Remove a number from the organization's pool; calls it placed keep their record."""
    linked.delete()


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a failed (dead-letter) webhook once more."""
    if not redeliver(delivery):
        raise ServiceError(
            f"Only failed deliveries can be redelivered; this one is {delivery.state}",
            status=409,
            code="delivery_not_failed",
        )
    delivery.refresh_from_db()
    return delivery
