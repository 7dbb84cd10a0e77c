"""In a real browser, as a visitor: from the joint council's page to the demo city's elder-care
need, its chain (vote, tender, contract and payments, vouchers redeemed at the same co-op, the
pact, the timeline, the progress bar and the chart), then the overdue steps, in English and in
Italian."""
import pytest
from flask import current_app
from playwright.sync_api import expect

from app import demo as core_demo

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_city(app):
    with app.test_request_context():
        demo = core_demo.load()
        for module in current_app.extensions["procomun_modules"].values():
            if module.demo is not None:
                module.demo.load(demo)


@pytest.mark.parametrize("locale, words", [
    ("en-GB", {"deadlines": "Deadlines", "pacts": "Pacts", "timeline": "Timeline", "overdue": "Overdue steps"}),
    ("it-IT", {"deadlines": "Scadenze", "pacts": "Patti", "timeline": "Cronologia", "overdue": "Passaggi scaduti"}),
])
def test_a_visitor_follows_a_need_from_the_vote_to_the_service(live_server, browser, screenshot, demo_city,
                                                                 locale, words):
    context = browser.new_context(locale=locale)
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + "/councils/villanova-council")
    page.locator("a[href^='/councils/needs/']").first.click()
    expect(page.get_by_role("heading", level=2, name=words["deadlines"])).to_be_visible()
    expect(page.get_by_text("vote-event-")).to_be_visible()
    expect(page.get_by_role("link", name="Elder day centre in San Donato")).to_be_visible()
    expect(page.locator("code", has_text="home-care-demo")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=words["pacts"])).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=words["timeline"])).to_be_visible()
    expect(page.locator("progress")).to_have_count(1)
    expect(page.locator("svg.money-chart polyline")).to_have_count(3)
    assert page.locator("td", has_text="La Tela").count() >= 2   # the contract, and the vouchers redeemed there
    screenshot(f"need-chain-{locale}", page)
    page.get_by_role("link", name="Elder day centre in San Donato").click()
    expect(page).to_have_url(f"{live_server}/procurement/" + page.url.rsplit("/", 1)[-1])
    page.go_back()
    page.locator("a[href='/accountability/overdue']").click()
    expect(page.get_by_role("heading", level=1, name=words["overdue"])).to_be_visible()
    screenshot(f"overdue-{locale}", page)
    context.close()
