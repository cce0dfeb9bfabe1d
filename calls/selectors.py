"""Reads, always scoped to one organization: another organization's ids simply are not found."""

from calls.errors import ServiceError
from calls.models import Call, LinkedNumber, SfvopiApp


def app_list(*, organization):
    return SfvopiApp.objects.filter(organization=organization).order_by("-created_at", "-id")


def app_get(*, organization, app_id):
    app = SfvopiApp.objects.filter(organization=organization, app_id=app_id).first()
    if app is None:
        raise ServiceError("SFVoPI app not found", status=404, code="app_not_found")
    return app


def app_numbers(*, app):
    return LinkedNumber.objects.filter(app=app).order_by("linked_at", "number")


def call_list(*, organization):
    return Call.objects.filter(organization=organization).select_related("app").order_by("-created_at", "-id")


def call_get(*, organization, request_uuid):
    call = Call.objects.filter(organization=organization, request_uuid=request_uuid).select_related("app").first()
    if call is None:
        raise ServiceError("Call not found", status=404, code="call_not_found")
    return call
