"""A read-only viewer sees the floor, the reports and every admin page, and changes nothing."""

import json

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from agents.models import AgentState, Callback, CallDisposition, Contact, DeskSettings, Disposition, PauseReason
from calls.models import Call
from tests.admin.conftest import make_org
from tests.floor.conftest import member, utc

pytestmark = pytest.mark.django_db

# Actions that only read: the CSV exports.
READING_ACTIONS = {"export_csv", "export_admin_action"}


@pytest.fixture
def rows(tenant):
    org = make_org(tenant, 1)
    organization = tenant.organization
    reason = PauseReason.objects.create(organization=organization, name="Break")
    outcome = Disposition.objects.create(organization=organization, code="sale", label="Sale")
    DeskSettings.objects.create(organization=organization)
    contact = Contact.objects.create(organization=organization, name="Ravi")
    Callback.objects.create(organization=organization, agent=org.rows.agent, contact=contact, number="+919811111111",
                            due_at=utc(2026, 3, 10, 12))
    Call.objects.filter(pk=org.rows.call.pk).update(status="completed")
    CallDisposition.objects.create(organization=organization, call=org.rows.call, disposition=outcome)
    AgentState.objects.filter(agent=org.rows.agent).delete()
    AgentState.objects.create(organization=organization, agent=org.rows.agent, state="paused", pause_reason=reason,
                              started_at=utc(2026, 3, 10))
    return org


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_viewer_is_refused_every_change_in_admin(rows, tenant):
    viewer = member(tenant.organization, "vera", "viewer")
    client = Client()
    client.force_login(viewer)
    checked = 0
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        request = _request(viewer)
        if not model_admin.has_view_permission(request):
            continue
        # The list opens.
        assert client.get(reverse("admin:%s_%s_changelist" % info)).status_code == 200, info
        assert not model_admin.has_add_permission(request), info
        assert client.get(reverse("admin:%s_%s_add" % info)).status_code == 403, info
        changing = set(model_admin.get_actions(request)) - READING_ACTIONS
        assert changing == set(), (info, changing)
        obj = model_admin.get_queryset(request).first()
        if obj is None:
            continue
        checked += 1
        change = reverse("admin:%s_%s_change" % info, args=[obj.pk])
        assert client.get(change).status_code == 200, info  # seen, read-only
        assert client.post(change, {}).status_code == 403, info
        delete = reverse("admin:%s_%s_delete" % info, args=[obj.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403, info
        assert model.objects.filter(pk=obj.pk).exists(), info
    assert checked >= 12  # apps, numbers, carriers, calls, deliveries, agents, keys, desk pages...


def test_viewer_cannot_run_a_changing_action_by_posting_it(rows, tenant):
    viewer = member(tenant.organization, "vera", "viewer")
    client = Client()
    client.force_login(viewer)
    live = rows.rows.call
    Call.objects.filter(pk=live.pk).update(status="in_progress")
    client.post(reverse("admin:calls_call_changelist"), {"action": "hang_up_calls", "_selected_action": [live.pk]})
    live.refresh_from_db()
    assert live.status == "in_progress"


def test_viewer_sees_the_floor_and_reports_but_may_not_act(rows, tenant):
    viewer = member(tenant.organization, "vera", "viewer")
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse("floor")).status_code == 200
    assert client.get(reverse("floor-state")).status_code == 200
    assert client.get(reverse("floor-reports")).status_code == 200
    assert client.get(reverse("floor-report-csv", args=["agent"])).status_code == 200
    agent = rows.rows.agent
    reason = PauseReason.objects.get(name="Break")
    for url, body in [
        (reverse("floor-agent-pause", args=[agent.pk]), {"pause_reason_id": reason.pk}),
        (reverse("floor-agent-log-out", args=[agent.pk]), {}),
        (reverse("floor-call-hang-up", args=[rows.rows.call.request_uuid]), {}),
    ]:
        reply = client.post(url, json.dumps(body), content_type="application/json")
        assert reply.status_code == 403, url
    assert AgentState.objects.get(agent=agent, ended_at__isnull=True).state == "paused"
