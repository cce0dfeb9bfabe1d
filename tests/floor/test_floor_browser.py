"""The supervisor's floor in a real headless Chromium against `manage.py serve`.

The served organization lives in Asia/Kolkata, has two agents, a read-only viewer and a
week of calls behind it.
"""

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

from tests.agents.test_console_browser import BASE_DIR, CHROMIUM, CHROMIUM_ARGS, Server  # noqa: F401
from tests.conftest import needs

pytestmark = [pytest.mark.browser, pytest.mark.own_database("sqlite")]

# The pictures in docs/ are refreshed only on request, so a test run leaves the tree clean.
SHOTS = BASE_DIR / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else None
PASSWORD = "floor-browser-pw"

SETUP = f"""
import json
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from agents import services
from agents.models import Agent, CallDisposition, DeskSettings, Disposition, PauseReason
from calls.models import Call, LinkedNumber
from tenants.models import Organization
from tenants.services import membership_set

org = Organization.objects.get(name="Demo")
org.time_zone = "Asia/Kolkata"
org.save()
DeskSettings.objects.filter(organization=org).update(wrap_up_seconds=0, disposition_required=False)
PauseReason.objects.get_or_create(organization=org, name="Break")
two = services.agent_create(organization=org, username="agent-two", password="{PASSWORD}", number="+919811100002")
viewer = get_user_model().objects.create_user(username="vera", password="{PASSWORD}")
membership_set(user=viewer, organization=org, role="viewer")
first = Agent.objects.filter(organization=org).order_by("pk").first()
number = LinkedNumber.objects.filter(organization=org).first().number
now = timezone.now()
for days in range(1, 8):
    for n in range(days):
        call = Call.objects.create(organization=org, agent=first if n % 2 else two, from_number=number,
                                   to_number="+918000000031", status="completed", answered_at=now, duration=60 + n)
        Call.objects.filter(pk=call.pk).update(created_at=now - timedelta(days=days, minutes=n))
        outcome = Disposition.objects.filter(organization=org).order_by("pk")[n % 3]
        CallDisposition.objects.create(organization=org, call=call, disposition=outcome, agent=call.agent)
print(json.dumps({{"today": timezone.localtime(now, org.zone).date().isoformat()}}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    needs(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM} (apt-get install chromium) for the browser tests")
    served = Server(tmp_path_factory.mktemp("floor"))
    served.env["SANDBOX_TALK_SECONDS"] = "60"
    served.demo = json.loads(served.manage("demo", "--json"))
    served.seeded = json.loads(served.manage("shell", "-c", SETUP).strip().splitlines()[-1])
    served.start()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(browser, server, username, password, path, wait_socket=True):
    # One context per login: each keeps its own session cookie.
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.goto(f"{server.base_url}/accounts/login/?next={path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")
    if wait_socket:
        page.wait_for_selector("body[data-socket=open]")
    return page


def shot(page, name):
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def test_supervisor_watches_the_floor_change_while_two_agents_call(browser, server):
    from playwright.sync_api import expect

    demo = server.demo
    floor = log_in(browser, server, demo["supervisor_username"], demo["supervisor_password"], "/admin/floor/")
    floor.evaluate("window.notReloaded = true")
    expect(floor.locator("#agents tr")).to_have_count(2)
    expect(floor.locator("#today")).to_contain_text("Asia/Kolkata")
    expect(floor.locator("[data-figure=placed]")).to_have_text("0")

    one = log_in(browser, server, demo["agent_username"], demo["agent_password"], "/console/")
    two = log_in(browser, server, "agent-two", PASSWORD, "/console/")
    expect(floor.locator("#agents tr", has_text="agent-two")).to_contain_text("Available")
    one.fill("#customer-number", "+918000000018")  # ends in 8: the customer stays on until we end it
    one.click("#start")
    two.fill("#customer-number", "+918000000028")
    two.click("#start")

    expect(floor.locator("#calls tr")).to_have_count(2, timeout=15000)
    expect(floor.locator("#agents tr", has_text=demo["agent_username"])).to_contain_text("On call", timeout=15000)
    expect(floor.locator("#agents tr", has_text="agent-two")).to_contain_text("On call", timeout=15000)
    expect(floor.locator("[data-figure=placed]")).to_have_text("2")
    expect(floor.locator("[data-agents=on_call]")).to_have_text("2")
    expect(floor.locator("[data-agents=available]")).to_have_text("0")
    expect(floor.locator("#calls tr", has_text="+918000000028")).to_contain_text("In progress", timeout=15000)
    expect(floor.locator("[data-figure=answered]")).to_have_text("2", timeout=15000)
    shot(floor, "floor.png")

    one.click("#end")
    expect(floor.locator("#calls tr")).to_have_count(1, timeout=10000)
    # The supervisor hangs up the other call from the floor; the agent's console hears of it at once.
    floor.locator("#calls tr", has_text="+918000000028").locator("button", has_text="Hang up").click()
    expect(floor.locator("#calls tr")).to_have_count(0, timeout=10000)
    expect(two.locator("#status")).to_contain_text("Ended", timeout=10000)
    expect(floor.locator("#agents tr", has_text="agent-two")).not_to_contain_text("On call", timeout=10000)

    # Pause an agent from the floor: the agent's console shows it.
    row = floor.locator("#agents tr", has_text="agent-two")
    expect(row.locator("button", has_text="Pause")).to_be_visible(timeout=10000)
    row.locator("button", has_text="Pause").click()
    expect(row).to_contain_text("Paused (Break)", timeout=10000)
    expect(floor.locator("[data-agents=paused]")).to_have_text("1")
    expect(two.locator("body")).to_contain_text("Break", timeout=10000)
    assert floor.evaluate("window.notReloaded")
    expect(row).not_to_have_class(re.compile("long-pause"))

    # A pause past the organization's limit (15 minutes unless set) stands out on the floor.
    server.manage("shell", "-c", "from datetime import timedelta; from django.utils import timezone; "
                  "from agents.models import AgentState; AgentState.objects.filter(ended_at__isnull=True, "
                  "agent__user__username='agent-two').update(started_at=timezone.now() - timedelta(minutes=20))")
    floor.reload()
    row = floor.locator("#agents tr", has_text="agent-two")
    expect(row).to_have_class(re.compile("long-pause"), timeout=10000)
    expect(row).to_contain_text("Paused (Break) · long pause")
    for page in (floor, one, two):
        page.context.close()


def test_supervisor_opens_last_weeks_report_sees_charts_and_exports_csv(browser, server):
    from datetime import date, timedelta

    from playwright.sync_api import expect

    demo = server.demo
    today = date.fromisoformat(server.seeded["today"])
    first, last = today - timedelta(days=7), today - timedelta(days=1)
    page = log_in(browser, server, demo["supervisor_username"], demo["supervisor_password"], "/admin/floor/reports/",
                  wait_socket=False)
    page.fill("input[name=first]", first.isoformat())
    page.fill("input[name=last]", last.isoformat())
    page.click("input[type=submit][value=Show]")
    page.wait_for_url("**first=*")
    expect(page.locator("#report-day tbody tr")).to_have_count(7)
    expect(page.locator(".floor-figures dd").first).to_have_text("28")  # 1 + 2 + ... + 7 calls
    for chart in ("chart-day", "chart-hour", "chart-agent", "chart-disposition"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", re.compile(r"^[1-9]"))
        # Chart.js drew on the canvas: some pixels are no longer blank.
        painted = page.evaluate(
            """(id) => { const c = document.getElementById(id); const d = c.getContext("2d")
                .getImageData(0, 0, c.width, c.height).data; let n = 0;
                for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""", chart)
        assert painted > 500, (chart, painted)
    shot(page, "floor-report.png")

    with page.expect_download() as download:
        page.locator("#report-day a.csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][:3] == ["day", "placed", "answered"]
    assert sum(int(row[1]) for row in rows[1:]) == 28
    assert [row[0] for row in rows[1:]] == [(first + timedelta(days=n)).isoformat() for n in range(7)]
    page.context.close()


def test_a_viewer_sees_everything_and_is_refused_every_change(browser, server):
    from playwright.sync_api import expect

    page = log_in(browser, server, "vera", PASSWORD, "/admin/floor/")
    expect(page.locator("#agents tr")).to_have_count(2)
    expect(page.locator("#agents button")).to_have_count(0)  # no pause or log-out for a viewer
    agent_id = page.locator("#agents tr").first.get_attribute("data-agent-id")
    refused = page.evaluate(
        """async (id) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const post = (url) => fetch(url, {method: "POST", headers: {"X-CSRFToken": token,
                "Content-Type": "application/json"}, body: "{}"}).then((r) => r.status);
            return [await post(`/admin/floor/agents/${id}/pause`), await post(`/admin/floor/agents/${id}/log-out`),
                    await post(`/admin/floor/calls/nope/hang-up`)];
        }""", agent_id)
    assert refused == [403, 403, 403]
    for path in ("/admin/calls/sfvopiapp/add/", "/admin/agents/agent/add/", "/admin/calls/linkednumber/add/",
                 "/admin/calls/carrieraccount/add/", "/admin/tenants/organizationapikey/add/"):
        assert page.goto(f"{server.base_url}{path}").status == 403, path
    page.goto(f"{server.base_url}/admin/calls/call/")
    actions = page.locator("select[name=action] option").all_text_contents()
    assert not [text for text in actions if "Hang up" in text or "Redeliver" in text], actions
    page.goto(f"{server.base_url}/admin/agents/agent/")
    page.locator("#result_list a").first.click()
    expect(page.locator("input[type=submit][name=_save]")).to_have_count(0)
    page.goto(f"{server.base_url}/admin/floor/reports/")
    expect(page.locator("#chart-day")).to_be_visible()
    page.context.close()
