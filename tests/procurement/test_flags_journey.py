"""In a real browser, signed in as nobody: a visitor reads how much public money reaches the
social economy (the chart and its table), follows on to the red flags, and from a flag to
its process; no serious accessibility fault on either page (axe-core)."""
import pytest
from playwright.sync_api import expect

from app import demo as core_demo
from procurement import demo

from ..trust.test_accessibility import AXE, axe_violations

pytestmark = pytest.mark.browser


def test_a_visitor_reads_the_dashboard_and_the_red_flags(live_server, browser, screenshot):
    demo.load(core_demo.load())
    context = browser.new_context(locale="it-IT", bypass_csp=True)  # axe is injected as a script
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + "/procurement/dashboard")
    expect(page.get_by_role("heading", name="Ufficio appalti sociali")).to_be_visible()
    expect(page.locator("svg.chart rect")).not_to_have_count(0)
    expect(page.get_by_role("img", name="Quota del valore aggiudicato all'economia sociale, per anno")
           ).to_be_visible()
    screenshot("dashboard-visitor", page)
    assert AXE.exists() and axe_violations(page) == []
    page.get_by_role("link", name="Segnali d'allarme negli appalti sociali").click()
    expect(page.get_by_role("heading", name="Segnali d'allarme negli appalti sociali", level=1)).to_be_visible()
    expect(page.get_by_text("Offerta unica in una gara riservata").first).to_be_visible()
    screenshot("flags-visitor", page)
    assert axe_violations(page) == []
    page.get_by_role("link", name="Meals on wheels in Borgo Panigale").first.click()
    expect(page.get_by_role("heading", name="Segnali d'allarme", exact=True)).to_be_visible()
    screenshot("process-flags-visitor", page)
    context.close()
