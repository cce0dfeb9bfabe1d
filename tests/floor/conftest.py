"""A day of fixed calls and agent states in Asia/Kolkata (UTC+05:30), crossing UTC midnight.

The organization's day 2026-03-10 runs from 2026-03-09 18:30 UTC to 2026-03-10 18:30 UTC.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model

from agents import services as agent_services
from agents.models import AgentState, CallDisposition, Disposition, PauseReason
from calls.models import Call
from tenants.models import Role
from tenants.services import membership_set

PASSWORD = "long-enough-password"


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def call(tenant, agent, created, *, answered=None, duration=0, status="completed", disposition=None):
    row = Call.objects.create(
        organization=tenant.organization, app=tenant.app, agent=agent, from_number=tenant.from_number,
        to_number="+918000000001", status=status, answered_at=answered, duration=duration,
        ended_at=created,
    )
    Call.objects.filter(pk=row.pk).update(created_at=created)
    if disposition is not None:
        CallDisposition.objects.create(organization=tenant.organization, call=row, disposition=disposition, agent=agent)
    return row


def state(agent, name, start, end=None, reason=None):
    return AgentState.objects.create(organization=agent.organization, agent=agent, state=name, started_at=start,
                                     ended_at=end, pause_reason=reason)


@dataclass
class Day:
    organization: object
    asha: object
    bela: object
    now: datetime


@pytest.fixture
def kolkata_day(tenant):
    organization = tenant.organization
    organization.time_zone = "Asia/Kolkata"
    organization.save()
    asha = agent_services.agent_create(organization=organization, username="asha", password=PASSWORD,
                                       number="+919800000001")
    bela = agent_services.agent_create(organization=organization, username="bela", password=PASSWORD,
                                       number="+919800000002")
    AgentState.objects.filter(agent__in=[asha, bela]).delete()  # start from a clean record
    sale = Disposition.objects.create(organization=organization, code="sale", label="Sale")
    no = Disposition.objects.create(organization=organization, code="not_interested", label="Not interested")
    brk = PauseReason.objects.create(organization=organization, name="Break")
    # The evening before, local time (23:50 on 9 March): not in the day.
    call(tenant, asha, utc(2026, 3, 9, 18, 20), answered=utc(2026, 3, 9, 18, 20), duration=500)
    # 00:15 local on 10 March, still 9 March in UTC.
    call(tenant, asha, utc(2026, 3, 9, 18, 45), answered=utc(2026, 3, 9, 18, 45), duration=120, disposition=sale)
    # 05:40 local.
    call(tenant, bela, utc(2026, 3, 10, 0, 10), answered=utc(2026, 3, 10, 0, 10), duration=60, disposition=sale)
    # 23:50 local, not answered.
    call(tenant, asha, utc(2026, 3, 10, 18, 20), status="no_answer")
    # 00:10 local on 11 March, still 10 March in UTC: not in the day.
    call(tenant, asha, utc(2026, 3, 10, 18, 40), answered=utc(2026, 3, 10, 18, 40), duration=300, disposition=no)
    # Asha: 18:00-19:00 UTC available (30 min of it in the day), a call, wrap-up, a break, then offline.
    state(asha, "available", utc(2026, 3, 9, 18, 0), utc(2026, 3, 9, 19, 0))
    state(asha, "on_call", utc(2026, 3, 9, 19, 0), utc(2026, 3, 9, 19, 2))
    state(asha, "wrap_up", utc(2026, 3, 9, 19, 2), utc(2026, 3, 9, 19, 3))
    state(asha, "paused", utc(2026, 3, 9, 19, 3), utc(2026, 3, 9, 19, 13), reason=brk)
    state(asha, "offline", utc(2026, 3, 9, 19, 13), utc(2026, 3, 10, 0, 0))
    state(asha, "available", utc(2026, 3, 10, 0, 0))
    # Bela: a call across UTC midnight's day, wrap-up, then available and still so (open interval).
    state(bela, "on_call", utc(2026, 3, 10, 0, 10), utc(2026, 3, 10, 0, 11))
    state(bela, "wrap_up", utc(2026, 3, 10, 0, 11), utc(2026, 3, 10, 0, 11, 30))
    state(bela, "available", utc(2026, 3, 10, 0, 11, 30))
    return Day(organization, asha, bela, now=utc(2026, 3, 10, 1, 11, 30))


def member(organization, username, role):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    membership_set(user=user, organization=organization, role=role)
    return user


@pytest.fixture
def viewer(tenant):
    return member(tenant.organization, "vera-viewer", Role.VIEWER)


@pytest.fixture
def lead(tenant):
    return member(tenant.organization, "lena-lead", Role.SUPERVISOR)
