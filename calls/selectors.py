"""Reads, always scoped to one organization: another organization's ids simply are not found."""

from django.db.models import QuerySet

from calls.models import Call, DoNotCallNumber, LinkedNumber, Recording, SfvopiApp, WebhookDelivery
from calls.phone import InvalidPhoneNumber, to_e164
from tenants.errors import ServiceError
from tenants.models import Organization


def app_list(*, organization: Organization) -> QuerySet[SfvopiApp]:
    return SfvopiApp.objects.filter(organization=organization).order_by("-created_at", "-id")


def app_get(*, organization: Organization, app_id: str) -> SfvopiApp:
    app = SfvopiApp.objects.filter(organization=organization, app_id=app_id).first()
    if app is None:
        raise ServiceError("SFVoPI app not found", status=404, code="app_not_found")
    return app


def app_numbers(*, app: SfvopiApp) -> QuerySet[LinkedNumber]:
    return LinkedNumber.objects.filter(app=app).order_by("linked_at", "number")


def call_list(*, organization: Organization) -> QuerySet[Call]:
    return Call.objects.filter(organization=organization).select_related("app").order_by("-created_at", "-id")


def call_get(*, organization: Organization, request_uuid: str) -> Call:
    call = Call.objects.filter(organization=organization, request_uuid=request_uuid).select_related("app").first()
    if call is None:
        raise ServiceError("Call not found", status=404, code="call_not_found")
    return call


def number_list(*, organization: Organization) -> QuerySet[LinkedNumber]:
    return LinkedNumber.objects.filter(organization=organization).select_related("app").order_by("number")


def number_get(*, organization: Organization, number_id) -> LinkedNumber:
    pk = as_id(number_id)
    linked = number_list(organization=organization).filter(pk=pk).first() if pk else None
    if linked is None:
        raise ServiceError("VoIP number not found", status=404, code="number_not_found")
    return linked


def do_not_call_list(*, organization: Organization) -> QuerySet[DoNotCallNumber]:
    return DoNotCallNumber.objects.filter(organization=organization).select_related("call").order_by("-created_at", "-id")


def do_not_call_get(*, organization: Organization, number: str) -> DoNotCallNumber:
    # Read as leniently as it was added (spaces, a missing country code), so any spelling finds it.
    try:
        number = to_e164(number)
    except InvalidPhoneNumber:
        number = ""
    row = do_not_call_list(organization=organization).filter(number=number).first() if number else None
    if row is None:
        raise ServiceError("That number is not on the organization's do-not-call list", status=404,
                           code="do_not_call_not_found")
    return row


def do_not_call_among(*, organization_id: int, numbers: list[str]) -> set[str]:
    """Which of `numbers` are on the organization's do-not-call list."""
    if not numbers:
        return set()
    listed = DoNotCallNumber.objects.filter(organization_id=organization_id, number__in=numbers)
    return set(listed.values_list("number", flat=True))


def webhook_delivery_list(*, organization: Organization) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(organization=organization)
        .select_related("call")
        .order_by("-created_at", "-id")
    )


def webhook_delivery_get(*, organization: Organization, webhook_id: str) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.filter(organization=organization, webhook_id=webhook_id).first()
    if delivery is None:
        raise ServiceError("Webhook delivery not found", status=404, code="webhook_delivery_not_found")
    return delivery


def as_id(value) -> int | None:
    """A database id from a URL, or None: ids that cannot exist are simply not found."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def call_search(*, organization: Organization, status=None, agent=None, app=None, from_number=None,
                to_number=None, created_after=None, created_before=None) -> QuerySet[Call]:
    """The organization's calls narrowed by any of the given filters (agent is an id, app an app_id)."""
    calls = call_list(organization=organization)
    filters = {
        "status": status,
        "agent_id": agent,
        "app__app_id": app,
        "from_number": from_number,
        "to_number": to_number,
        "created_at__gte": created_after,
        "created_at__lt": created_before,
    }
    return calls.filter(**{lookup: value for lookup, value in filters.items() if value is not None})


def webhook_delivery_search(*, organization: Organization, state=None, kind=None, call=None) -> QuerySet[WebhookDelivery]:
    """The organization's webhook deliveries, narrowed by state, kind or the call's request_uuid."""
    filters = {"state": state, "kind": kind, "call__request_uuid": call}
    return webhook_delivery_list(organization=organization).filter(
        **{lookup: value for lookup, value in filters.items() if value is not None}
    )


def recording_search(*, organization: Organization, call: str | None = None) -> QuerySet[Recording]:
    recordings = Recording.objects.filter(organization=organization).select_related("call")
    if call:
        recordings = recordings.filter(call__request_uuid=call)
    return recordings


def recording_get(*, organization: Organization | None, recording_id) -> Recording:
    """One recording of `organization` (any organization's for None: superusers only)."""
    recordings = Recording.objects.select_related("call")
    if organization is not None:
        recordings = recordings.filter(organization=organization)
    pk = as_id(recording_id)
    recording = recordings.filter(pk=pk).first() if pk else None
    if recording is None:
        raise ServiceError("Recording not found", status=404, code="recording_not_found")
    return recording
