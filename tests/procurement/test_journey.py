"""In a real browser: an official publishes a reserved tender, two co-operatives
bid, the award is computed, the contract is recorded, and the public register
and the OCDS file show it."""
import json
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.i18n import city_today

from ..conftest import PASSWORD

pytestmark = pytest.mark.browser


def _signed_in(browser, live_server, user):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + "/account/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


def test_reserved_tender_from_publication_to_open_data(live_server, browser, page, screenshot, city):
    official = _signed_in(browser, live_server, city.official)
    official.goto(live_server + "/procurement/")
    official.get_by_role("link", name="New process").click()
    screenshot("new-process", official)
    official.get_by_label("Title").fill("Home care for older people")
    official.get_by_label("Procuring department").select_option(label="Social Services")
    official.get_by_label("Service category").select_option(label="Elder Care")
    official.get_by_label("Budget", exact=True).fill("150000")
    official.get_by_label("Procedure").select_option("reserved")
    official.get_by_role("button", name="Save").click()
    expect(official.get_by_text("is open in planning")).to_be_visible()

    official.get_by_role("link", name="Set the award criteria").click()
    official.get_by_label("Price", exact=True).fill("40")
    official.get_by_label("Quality of the service proposal").fill("30")
    official.get_by_label("Employment of people at risk of exclusion").fill("20")
    official.get_by_role("button", name="Save the criteria").click()
    expect(official.get_by_text("add up to 90")).to_be_visible()  # refused: the input is kept
    screenshot("criteria-refused", official)
    official.get_by_label("Local employment").fill("10")
    official.get_by_role("button", name="Save the criteria").click()
    expect(official.get_by_text("The award criteria are saved.")).to_be_visible()
    official.get_by_label("Deadline for bids").fill((city_today() + timedelta(days=20)).isoformat())
    official.get_by_role("button", name="Publish the tender").click()
    expect(official.get_by_text("The tender is published and open for bids.")).to_be_visible()
    screenshot("tender-published", official)

    for member, org, amount in ((city.coop_member, "La Tela", "98000"), (city.coop_b_member, "Verde Lavoro", "95000")):
        bidder = _signed_in(browser, live_server, member)
        bidder.goto(live_server + "/procurement/")
        bidder.get_by_role("link", name="Home care for older people").first.click()
        bidder.get_by_role("link", name="Submit a bid").click()
        bidder.get_by_label("Price offered", exact=True).fill(amount)
        bidder.get_by_label("Summary of the proposal").fill(f"{org}: twelve carers, weekend cover.")
        bidder.get_by_role("button", name="Save").click()
        expect(bidder.get_by_text("Your bid is submitted.")).to_be_visible()
        screenshot(f"bid-{org.split()[0].lower()}", bidder)
        bidder.context.close()

    official.reload()
    official.get_by_role("button", name="Close bidding and evaluate").click()
    for org, scores in (("La Tela", ["80", "90", "70", "60"]), ("Verde Lavoro", ["70", "60", "90", "80"])):
        official.get_by_role("link", name=f"Score the bid of {org}").click()
        screenshot(f"score-{org.split()[0].lower()}", official)
        for label, score in zip(["Price (weight 40)", "Quality of the service proposal (weight 30)",
                                 "Employment of people at risk of exclusion (weight 20)",
                                 "Local employment (weight 10)"], scores):
            official.get_by_label(label).fill(score)
        official.get_by_role("button", name="Save").click()
        expect(official.get_by_text(f"The scores of {org} are saved.")).to_be_visible()
    official.get_by_role("link", name="Decide the award").click()
    ranking = official.locator("table tbody tr")
    expect(ranking.first).to_contain_text("La Tela")
    expect(ranking.first).to_contain_text("79")
    screenshot("award-ranking", official)
    official.get_by_role("button", name="Decide the award").click()
    expect(official.get_by_text("The award is decided.")).to_be_visible()
    expect(official.get_by_text("had the highest weighted score")).to_be_visible()

    today = city_today()
    official.get_by_role("link", name="Record the contract").click()
    official.get_by_label("Service ends").fill((today + timedelta(days=365)).isoformat())
    official.get_by_label("Milestones").fill(f"{(today + timedelta(days=14)).isoformat()} | Service starts")
    official.get_by_label("Social commitments").fill(
        f"{(today + timedelta(days=90)).isoformat()} | social_inclusion | "
        "Hire three people from the work-integration list")
    screenshot("contract-form", official)
    official.get_by_role("button", name="Save").click()
    expect(official.get_by_text("The contract is recorded.")).to_be_visible()
    screenshot("contract-recorded", official)

    # The public register and the OCDS file, for anyone.
    page.goto(live_server + "/procurement/")
    row = page.locator("tr", has_text="Home care for older people")
    expect(row).to_contain_text("La Tela")
    expect(row).to_contain_text("Contract signed")
    screenshot("public-register")
    row.get_by_role("link").click()
    expect(page.get_by_text("Hire three people from the work-integration list")).to_be_visible()
    expect(page.get_by_text("Weighted total")).to_have_count(0)  # per-criterion scores are not public
    screenshot("public-process")
    package = json.loads(page.request.get(live_server + "/open-data/procurement.json").text())
    assert [r["tag"] for r in package["releases"]] == [["tender"], ["tenderUpdate"], ["award"], ["contract"]]
    release = package["releases"][-1]  # the newest: the contract
    assert release["ocid"].startswith("ocds-procomun-villanova-PRC-")
    assert release["awards"][0]["suppliers"][0]["name"] == "La Tela"
    assert release["contracts"][0]["socialCommitments"][0]["criterion"] == "social_inclusion"
    assert release["tender"]["socialProcurement"]["reserved"] is True
    official.context.close()


def test_office_dashboard_and_demo_pages(live_server, browser, page, screenshot, city):
    """The office's dashboard with the demo year, looked at in the browser."""
    from app import demo as core_demo
    from procurement import demo
    demo.load(core_demo.load())
    official = _signed_in(browser, live_server, city.official)
    official.goto(live_server + "/procurement/dashboard")
    expect(official.locator("svg.chart rect")).not_to_have_count(0)
    expect(official.get_by_role("heading", name="Social commitments overdue or missed")).to_be_visible()
    screenshot("dashboard", official)
    official.goto(live_server + "/procurement/")
    screenshot("register-demo", official)
    official.get_by_role("link", name="Elder day centre in San Donato").click()
    screenshot("process-implementation", official)
    official.get_by_role("button", name="Italiano").click()
    expect(official.get_by_role("heading", name="Aggiudicazione", exact=True)).to_be_visible()
    expect(official.get_by_text("Impegni sociali", exact=True)).to_be_visible()
    screenshot("process-in-italian", official)
    official.context.close()
