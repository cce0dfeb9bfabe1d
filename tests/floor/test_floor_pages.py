"""The floor's pages in admin: the dashboard's state, reports, CSV, actions, the audit trail."""

import csv
import io
import json

import pytest
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from agents.models import AgentState, PauseReason
from calls.models import Call
from tests.floor.conftest import utc

pytestmark = pytest.mark.django_db


def login(user):
    client = Client()
    client.force_login(user)
    return client


def test_admin_index_links_the_floor(lead):
    page = login(lead).get(reverse("admin:index")).content.decode()
    assert reverse("floor") in page and reverse("floor-reports") in page and reverse("wallboard") in page


def test_dashboard_state_shows_agents_calls_and_todays_figures(kolkata_day, lead, tenant):
    live = Call.objects.create(organization=tenant.organization, app=tenant.app, agent=kolkata_day.bela,
                               from_number=tenant.from_number, to_number="+918000000009", status="in_progress")
    client = login(lead)
    assert client.get(reverse("floor")).status_code == 200
    state = client.get(reverse("floor-state")).json()
    assert state["time_zone"] == "Asia/Kolkata"
    assert {agent["username"]: agent["state"] for agent in state["agents"]} == {"asha": "available", "bela": "available"}
    assert [call["request_uuid"] for call in state["calls"]] == [live.request_uuid]
    assert state["totals"]["placed"] >= 1  # the live call was placed today
    assert state["calls"][0]["agent_name"] == "bela"
    assert state["long_pause_seconds"] == 15 * 60  # the default limit before a pause stands out


def test_the_long_pause_limit_is_the_organizations(lead, tenant):
    from agents.models import DeskSettings

    DeskSettings.objects.update_or_create(organization=tenant.organization, defaults={"long_pause_minutes": 0})
    assert login(lead).get(reverse("floor-state")).json()["long_pause_seconds"] == 0  # never


def test_report_tables_and_csv_for_a_week(kolkata_day, lead):
    client = login(lead)
    query = {"first": "2026-03-09", "last": "2026-03-15"}
    page = client.get(reverse("floor-reports"), query)
    assert page.status_code == 200
    text = page.content.decode()
    assert "chart.umd.min.js" in text and 'id="chart-day"' in text
    data = page.context["data"]
    assert [row["placed"] for row in data["day"][:3]] == [1, 3, 1]
    reply = client.get(reverse("floor-report-csv", args=["day"]), query)
    assert reply["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(reply.content.decode())))
    assert rows[0][:3] == ["day", "placed", "answered"]
    assert rows[1][:3] == ["2026-03-09", "1", "1"]
    assert rows[2][:5] == ["2026-03-10", "3", "2", "0.6667", "3:00"]
    agents = list(csv.reader(io.StringIO(client.get(reverse("floor-report-csv", args=["agent"]), query).content.decode())))
    assert [row[0] for row in agents[1:]] == ["asha", "bela"]
    dispositions = client.get(reverse("floor-report-csv", args=["disposition"]), query).content.decode()
    assert "sale,Sale,2,3:00" in dispositions
    # Asha's 10-minute Break, against every state but Offline that week.
    assert [(row["reason"], row["paused_seconds"]) for row in data["pause"]] == [("Break", 600)]
    assert "Pauses by reason" in text
    pauses = client.get(reverse("floor-report-csv", args=["pause"]), query)
    assert pauses["Content-Disposition"].startswith('attachment; filename="pauses-by-reason-2026-03-09')
    rows = list(csv.reader(io.StringIO(pauses.content.decode())))
    assert rows[0] == ["reason", "paused", "share_of_logged_in"] and rows[1][:2] == ["Break", "10:00"]
    assert 0 < float(rows[1][2]) < 1


def test_bad_report_dates_answer_a_page_not_an_error(lead):
    reply = login(lead).get(reverse("floor-reports"), {"first": "yesterday", "last": "2026-13-40"})
    assert reply.status_code == 200
    assert b"is not a date" in reply.content
    assert login(lead).get(reverse("floor-report-csv", args=["nonsense"])).status_code == 404


def test_supervisor_pauses_and_logs_out_an_agent(kolkata_day, lead):
    reason = PauseReason.objects.get(name="Break")
    client = login(lead)
    url = reverse("floor-agent-pause", args=[kolkata_day.bela.pk])
    reply = client.post(url, json.dumps({"pause_reason_id": reason.pk}), content_type="application/json")
    assert reply.status_code == 200, reply.content
    current = AgentState.objects.get(agent=kolkata_day.bela, ended_at__isnull=True)
    assert (current.state, current.pause_reason) == ("paused", reason)
    reply = client.post(reverse("floor-agent-log-out", args=[kolkata_day.bela.pk]))
    assert reply.json() == {"state": "offline"}

    # Without a reason: refused while the organization requires one, taken once it is optional.
    asha = reverse("floor-agent-pause", args=[kolkata_day.asha.pk])
    assert client.post(asha, json.dumps({"pause_reason_id": None}), content_type="application/json").status_code == 400
    from agents.models import DeskSettings

    DeskSettings.objects.update_or_create(organization=kolkata_day.organization,
                                          defaults={"pause_reason_required": False})
    assert client.get(reverse("floor-state")).json()["pause_reason_required"] is False
    reply = client.post(asha, json.dumps({"pause_reason_id": None}), content_type="application/json")
    assert reply.status_code == 200, reply.content
    current = AgentState.objects.get(agent=kolkata_day.asha, ended_at__isnull=True)
    assert (current.state, current.pause_reason) == ("paused", None)


def test_supervisor_hangs_up_a_live_call(tenant, lead):
    live = Call.objects.create(organization=tenant.organization, app=tenant.app, from_number=tenant.from_number,
                               to_number="+918000000009", status="in_progress", answered_at=utc(2026, 3, 10))
    reply = login(lead).post(reverse("floor-call-hang-up", args=[live.request_uuid]))
    assert reply.status_code == 200
    live.refresh_from_db()
    assert live.status not in ("in_progress",)


def test_another_organizations_agent_is_not_found(kolkata_day, other_tenant):
    from tests.floor.conftest import member

    stranger = member(other_tenant.organization, "otto", "supervisor")
    reply = login(stranger).post(reverse("floor-agent-log-out", args=[kolkata_day.bela.pk]))
    assert reply.status_code == 404


def test_agents_may_not_open_the_floor(kolkata_day):
    client = login(kolkata_day.asha.user)
    assert client.get(reverse("floor")).status_code in (302, 403)
    assert client.get(reverse("floor-state")).status_code in (302, 403)


def test_changes_in_admin_land_in_the_audit_trail(lead, tenant, other_tenant):
    client = login(lead)
    app = tenant.app
    reply = client.post(reverse("admin:calls_sfvopiapp_change", args=[app.pk]), {
        "name": "Renamed app", "answer_url": app.answer_url, "answer_method": "POST", "hangup_method": "POST",
        "fallback_answer_method": "POST", "status": "ACTIVE", "previous_webhook_secret": "",
        "numbers-TOTAL_FORMS": "0", "numbers-INITIAL_FORMS": "0",
    })
    assert reply.status_code == 302, reply.content[:2000]
    entry = LogEntry.objects.get_for_object(app).latest("timestamp")
    assert entry.actor == lead
    assert "name" in entry.changes_dict
    trail = client.get(reverse("admin:floor_auditentry_changelist")).content.decode()
    assert "Renamed app" in trail
    # Another organization's changes stay out of this supervisor's trail.
    other_tenant.app.name = "Their app renamed"
    other_tenant.app.save()
    assert "Their app renamed" not in client.get(reverse("admin:floor_auditentry_changelist")).content.decode()


def test_call_list_reads_short_in_the_organizations_time(kolkata_day, lead):
    page = login(lead).get(reverse("admin:calls_call_changelist")).content.decode()
    # Created 18:45 UTC on 9 March: 00:15 on 10 March in Kolkata; 120 s of talk as a clock.
    assert "10 Mar 00:15" in page
    assert "2:00" in page
    assert "No answer" in page


def test_admin_date_filter_today_is_the_organizations_day(kolkata_day, lead):
    from urllib.parse import unquote

    page = unquote(login(lead).get(reverse("admin:calls_call_changelist")).content.decode())
    # The "Today" and "Past 7 days" links of the created_at filter start at local midnight.
    assert "created_at__gte=" in page
    assert "00:00:00+05:30" in page
    assert "00:00:00+00:00" not in page


def test_changes_through_the_api_land_in_the_audit_trail(kolkata_day, lead, tenant):
    agent = kolkata_day.bela
    # A supervisor's session through /api/v1: the login is the actor.
    reply = login(lead).patch(f"/api/v1/agents/{agent.pk}", {"click_to_call_enabled": False},
                              content_type="application/json")
    assert reply.status_code == 200, reply.content
    entry = LogEntry.objects.get_for_object(agent).latest("timestamp")
    assert entry.actor == lead
    assert entry.changes_dict["click_to_call_enabled"] == ["True", "False"]
    # An API key: no login, but when and from where are kept.
    reply = tenant.api.patch(f"/api/v1/agents/{agent.pk}", {"click_to_call_enabled": True}, format="json")
    assert reply.status_code == 200, reply.content
    entry = LogEntry.objects.get_for_object(agent).latest("timestamp")
    assert entry.actor is None and entry.remote_addr == "127.0.0.1"
    assert entry.additional_data == {"organization_id": tenant.organization.pk}


def test_the_floor_counts_agents_by_state_and_callbacks_due_or_missed(kolkata_day, lead, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from agents import desk, states
    from agents.models import Callback

    states.agent_pause(agent=kolkata_day.asha, pause_reason_id=PauseReason.objects.get(name="Break").pk)
    for minutes_ago, status in [(5, "pending"), (-60, "pending"), (90, "missed"), (120, "done")]:
        callback = desk.callback_schedule(organization_id=tenant.organization.pk, agent=kolkata_day.bela,
                                          number="+918000000111", due_at=timezone.now() + timedelta(days=1))
        Callback.objects.filter(pk=callback.pk).update(status=status,
                                                       due_at=timezone.now() - timedelta(minutes=minutes_ago))

    state = login(lead).get(reverse("floor-state")).json()

    assert state["agents_by_state"] == {"available": 1, "on_call": 0, "wrap_up": 0, "paused": 1, "offline": 0}
    assert state["callbacks"] == {"due": 1, "missed": 1}
