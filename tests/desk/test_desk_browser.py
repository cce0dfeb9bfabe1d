"""An agent's day at the desk in a real headless Chromium against `manage.py serve`.

Reuses the served app and the browser of tests/agents/test_console_browser.py.
"""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.agents.test_console_browser import BASE_DIR, agent_console, browser, log_in  # noqa: F401
from tests.agents.test_console_browser import server as _server  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.own_database("sqlite")]

# The pictures in docs/ are refreshed only on request, so a test run leaves the tree clean.
SHOTS = BASE_DIR / "docs" if os.environ.get("UPDATE_SCREENSHOTS") else None

DESK_SETUP = """
from agents.models import DeskSettings
DeskSettings.objects.update(wrap_up_seconds=60, disposition_required=True,
                            crm_link_template="https://crm.example.com/contacts/{external_id}")
"""


@pytest.fixture(scope="module")
def server(_server):  # noqa: F811
    _server.manage("shell", "-c", DESK_SETUP)
    return _server


def shot(page, name):
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


def finish_wrap_up(page, disposition):
    """Save the disposition the organization requires, then end wrap-up early."""
    from playwright.sync_api import expect

    page.select_option("#disposition", label=disposition)
    page.click("#save-disposition")
    page.click("#end-wrap")
    expect(page.locator("#agent-state")).to_have_text("Available")


def test_an_agents_day(browser, server):  # noqa: F811
    from playwright.sync_api import expect

    page = agent_console(browser, server)
    expect(page.locator("#agent-state")).to_have_text("Available")

    # A break: paused with a reason, and START is refused while paused.
    page.select_option("#pause-reason", label="Lunch")
    page.click("#pause")
    expect(page.locator("#agent-state")).to_have_text("Paused (Lunch)")
    expect(page.locator("#announce")).to_have_text("You are now Paused (Lunch)")
    page.fill("#customer-number", "+918000000031")
    page.click("#start")
    expect(page.locator("#error")).to_have_text("The agent is Paused (Lunch), not Available: no call can be started")
    page.click("#resume")
    expect(page.locator("#agent-state")).to_have_text("Available")

    # Call a contact found by search; the screen pop shows who it is and the CRM link.
    page.fill("#contact-q", "priya")
    page.click("#contact-search button[type=submit]")
    contact_number = server.demo["contact_number"]
    page.click(f"#contacts button:has-text('Call {contact_number}')")
    expect(page.locator("#status")).to_have_text("In progress", timeout=15000)
    expect(page.locator("#agent-state")).to_have_text("On call")
    expect(page.locator("#pop-name")).to_have_text("Priya Shah")
    expect(page.locator("#pop-crm")).to_have_attribute("href", "https://crm.example.com/contacts/C-1001")
    expect(page.locator("#talk-time")).not_to_have_text("00:00", timeout=5000)
    expect(page.locator("#ring-time")).not_to_have_text("00:00")
    shot(page, "console-call.png")

    # Hang up: wrap-up, which waits for the disposition.
    page.click("#end")
    expect(page.locator("#status")).to_have_text("Ended: Completed", timeout=10000)
    expect(page.locator("#agent-state")).to_have_text("Wrap-up")
    expect(page.locator("#wrap-up")).to_be_visible()
    expect(page.locator("#wrap-countdown")).to_contain_text("00:")  # under 60 s of wrap-up left
    page.click("#extend-wrap")  # more time, once: the wrap-up time again
    expect(page.locator("#wrap-countdown")).to_contain_text("01:")
    expect(page.locator("#extend-wrap")).to_be_hidden()
    page.click("#end-wrap")
    expect(page.locator("#error")).to_have_text("Save the call's disposition before leaving wrap-up")
    page.select_option("#disposition", label="Callback requested")
    page.fill("#note", "Wants a quote for two")

    # Promise a call back a few seconds from now (the demo organization keeps UTC).
    due = datetime.now(UTC) + timedelta(seconds=6)
    page.click("#callback-box summary")
    page.fill("#callback-due", due.strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#callback-note", "Quote")
    page.click("#callback-save")
    expect(page.locator("#callbacks li")).to_contain_text("Priya Shah")
    shot(page, "console-wrap-up.png")
    page.click("#save-disposition")
    expect(page.locator("#agent-state")).to_have_text("Wrap-up")  # the wrap-up time still runs
    page.click("#end-wrap")
    expect(page.locator("#agent-state")).to_have_text("Available")

    # The reminder arrives live at the due time.
    expect(page.locator("#notifications .reminder")).to_contain_text("Callback due now: Priya Shah", timeout=30000)

    # History: find the call, with its disposition and note, and redial it.
    page.fill("#history-q", "Priya")
    page.click("#history-search button[type=submit]")
    first = page.locator("#history tr").first
    expect(first).to_contain_text("Callback requested: Wants a quote for two")
    shot(page, "console-history.png")
    first.locator("button", has_text="Redial").click()
    expect(page.locator("#status")).to_have_text("In progress", timeout=15000)
    expect(page.locator("#current-number")).to_have_text(contact_number)
    page.click("#end")
    expect(page.locator("#agent-state")).to_have_text("Wrap-up", timeout=10000)
    finish_wrap_up(page, "Sale")
    assert page.evaluate("window.notReloaded")
    page.close()


SECOND_AGENT = """
from agents import services
from tenants.models import Organization
services.agent_create(organization=Organization.objects.get(name="Demo"), username="chen",
                      password="chen-desk-2026", number="+919800000077")
"""


def test_a_callback_left_for_any_agent_is_taken_by_one_and_leaves_the_others_list(browser, server):  # noqa: F811
    from playwright.sync_api import expect

    server.manage("shell", "-c", SECOND_AGENT)
    mine = agent_console(browser, server)
    theirs = log_in(browser, server, "chen", "chen-desk-2026", "/console/")

    # A callback is promised in wrap-up, after a call (ends in 8: on until we end it).
    mine.fill("#customer-number", "+918000000068")
    mine.click("#start")
    expect(mine.locator("#status")).to_have_text("In progress", timeout=15000)
    mine.click("#end")
    expect(mine.locator("#agent-state")).to_have_text("Wrap-up", timeout=10000)
    mine.click("#callback-box summary")
    mine.fill("#callback-due", (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    mine.fill("#callback-note", "Renewal")
    mine.check("#callback-anyone")
    mine.click("#callback-save")
    left = "#callbacks li:has-text('+918000000068')"
    expect(mine.locator(left)).to_contain_text("for any agent")
    # The colleague's console lists it live, with Take in place of Call.
    expect(theirs.locator(left)).to_contain_text("Renewal", timeout=10000)
    theirs.locator(left).locator("button", has_text="Take").click()
    expect(theirs.locator(left).locator("button", has_text="Call")).to_be_visible()
    expect(theirs.locator(left)).not_to_contain_text("for any agent")
    expect(mine.locator(left)).to_have_count(0, timeout=10000)
    finish_wrap_up(mine, "Callback requested")
    assert mine.evaluate("window.notReloaded")
    mine.close()
    theirs.close()


def test_keyboard_only(browser, server):  # noqa: F811
    from playwright.sync_api import expect

    page = agent_console(browser, server)
    expect(page.locator("#agent-state")).to_have_text("Available")
    page.keyboard.press("Alt+P")  # pause with the reason selected (the first)
    expect(page.locator("#agent-state")).to_have_text("Paused (Break)")
    expect(page.locator("#announce")).to_have_text("You are now Paused (Break)")
    page.keyboard.press("Alt+R")
    expect(page.locator("#agent-state")).to_have_text("Available")
    page.keyboard.press("Alt+S")  # no number yet: focus goes to the number field
    expect(page.locator("#customer-number")).to_be_focused()
    page.keyboard.type(server.demo["contact_number"])
    page.keyboard.press("Alt+S")
    expect(page.locator("#status")).to_have_text("In progress", timeout=15000)
    page.keyboard.press("Alt+E")
    expect(page.locator("#agent-state")).to_have_text("Wrap-up", timeout=10000)
    page.keyboard.press("Alt+D")
    expect(page.locator("#disposition")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    expect(page.locator("#note")).to_be_focused()
    page.keyboard.type("By keyboard")
    page.keyboard.press("Tab")
    expect(page.locator("#save-disposition")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#announce")).to_contain_text("Saved:")
    page.keyboard.press("Alt+R")
    expect(page.locator("#agent-state")).to_have_text("Available")
    page.close()


def test_it_fits_a_360_px_screen(browser, server):  # noqa: F811
    from playwright.sync_api import expect

    page = log_in(browser, server, server.demo["agent_username"], server.demo["agent_password"], "/console/")
    page.set_viewport_size({"width": 360, "height": 740})
    page.fill("#history-q", "")
    page.click("#history-search button[type=submit]")
    expect(page.locator("#agent-state")).to_have_text("Available")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls {overflow}px sideways at 360 px"
    shot(page, "console-360.png")
    page.close()
