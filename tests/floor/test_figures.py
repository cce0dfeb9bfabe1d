"""The floor's figures on a fixed day in Asia/Kolkata: the organization's day, not UTC's."""

from datetime import date

import pytest

from floor import figures
from tests.floor.conftest import utc

pytestmark = pytest.mark.django_db


def test_today_is_the_organizations_day_not_utcs(kolkata_day):
    # 20:00 UTC on 9 March is already 10 March in Kolkata.
    assert figures.local_today(kolkata_day.organization, utc(2026, 3, 9, 20, 0)) == date(2026, 3, 10)
    period = figures.today_range(kolkata_day.organization, utc(2026, 3, 9, 20, 0))
    assert (period.start, period.end) == (utc(2026, 3, 9, 18, 30), utc(2026, 3, 10, 18, 30))


def test_totals_of_the_day(kolkata_day):
    period = figures.day_range(kolkata_day.organization, date(2026, 3, 10))
    totals = figures.totals(kolkata_day.organization.pk, period, now=kolkata_day.now)
    assert totals["placed"] == 3
    assert totals["answered"] == 2
    assert totals["answer_rate"] == pytest.approx(0.6667)
    assert totals["talk_seconds"] == 180
    assert totals["average_talk_seconds"] == 90
    # Wrap-up 60 s (asha) + 30 s (bela); AHT = (180 talk + 90 wrap-up) / 2 answered calls.
    assert totals["wrap_up_seconds"] == 90
    assert totals["average_handle_seconds"] == 135
    # Asha available 30 min + 71 min since 00:00 UTC; bela 60 min since 00:11:30 UTC.
    assert totals["state_seconds"] == {
        "available": 1800 + 4290 + 3600, "on_call": 180, "wrap_up": 90, "paused": 600, "offline": 17220,
    }
    assert totals["occupancy"] == pytest.approx(round(270 / (9690 + 270), 4))
    # Logged in: every state but Offline, 9690 + 180 + 90 + 600 s; 2 answered agent calls.
    assert totals["utilisation"] == pytest.approx(round(270 / 10560, 4))
    assert totals["calls_per_hour"] == pytest.approx(round(2 * 3600 / 10560, 2))


def test_by_agent(kolkata_day):
    period = figures.day_range(kolkata_day.organization, date(2026, 3, 10))
    rows = {row["agent"]: row for row in figures.by_agent(kolkata_day.organization.pk, period, now=kolkata_day.now)}
    assert rows["asha"]["placed"] == 2
    assert rows["asha"]["answered"] == 1
    assert rows["asha"]["talk_seconds"] == 120
    assert rows["asha"]["average_handle_seconds"] == 180  # 120 talk + 60 wrap-up
    assert rows["asha"]["state_seconds"]["paused"] == 600
    assert rows["bela"]["placed"] == 1
    assert rows["bela"]["average_handle_seconds"] == 90
    assert rows["bela"]["occupancy"] == pytest.approx(round(90 / 3690, 4))
    assert rows["bela"]["utilisation"] == pytest.approx(round(90 / 3690, 4))  # never paused: as occupancy
    assert rows["bela"]["calls_per_hour"] == pytest.approx(round(1 * 3600 / 3690, 2))
    asha_logged_in = sum(seconds for state, seconds in rows["asha"]["state_seconds"].items() if state != "offline")
    assert rows["asha"]["utilisation"] < rows["asha"]["occupancy"]  # her Break counts as logged in
    assert rows["asha"]["calls_per_hour"] == pytest.approx(round(3600 / asha_logged_in, 2), abs=0.01)


def test_by_hour_and_by_day_in_local_time(kolkata_day):
    period = figures.day_range(kolkata_day.organization, date(2026, 3, 10))
    hours = {row["hour"]: row["placed"] for row in figures.by_hour(kolkata_day.organization.pk, period)}
    assert {hour: placed for hour, placed in hours.items() if placed} == {0: 1, 5: 1, 23: 1}
    two_days = figures.date_range(kolkata_day.organization, date(2026, 3, 9), date(2026, 3, 11))
    days = figures.by_day(kolkata_day.organization.pk, two_days)
    assert [(row["day"], row["placed"], row["answered"]) for row in days] == [
        ("2026-03-09", 1, 1), ("2026-03-10", 3, 2), ("2026-03-11", 1, 1),
    ]


def test_by_disposition(kolkata_day):
    period = figures.day_range(kolkata_day.organization, date(2026, 3, 10))
    rows = figures.by_disposition(kolkata_day.organization.pk, period)
    assert rows == [{"code": "sale", "label": "Sale", "calls": 2, "talk_seconds": 180}]


def test_the_reports_page_adds_up_to_the_same_figures(kolkata_day):
    organization = kolkata_day.organization
    period = figures.date_range(organization, date(2026, 3, 9), date(2026, 3, 11))
    page = figures.report(organization.pk, period, now=kolkata_day.now)
    assert page["totals"] == figures.totals(organization.pk, period, now=kolkata_day.now)
    assert page["agent"] == figures.by_agent(organization.pk, period, now=kolkata_day.now)
    assert page["hour"] == figures.by_hour(organization.pk, period)
    assert page["day"] == figures.by_day(organization.pk, period)
    assert page["disposition"] == figures.by_disposition(organization.pk, period)
