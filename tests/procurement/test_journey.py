"""In a real browser: an official publishes a reserved tender, two co-operatives
bid, the deadline is extended, bidding closes once it has passed, a panel of two
officials scores the bids (their mean counts; price by formula), the award is
computed and amended, the contract is recorded and amended, and the public
register and the OCDS file show it."""
import json
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.i18n import city_today
from procurement.models import Process

from ..conftest import PASSWORD
from .conftest import pass_deadline

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
        bidder.get_by_label("Documents (PDF)").set_input_files(files=[
            {"name": "proposal.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF\n"}])
        for box in bidder.get_by_role("checkbox").all():  # the declarations a reserved tender requires
            box.check()
        bidder.get_by_role("button", name="Save").click()
        expect(bidder.get_by_text("Your bid is submitted.")).to_be_visible()
        screenshot(f"bid-{org.split()[0].lower()}", bidder)
        bidder.context.close()

    official.reload()
    # Bidding is open: closing is refused with its reason, the offers stay sealed.
    expect(official.get_by_role("button", name="Close bidding and evaluate")).to_be_disabled()
    expect(official.get_by_text("Bidding is open until the end of")).to_be_visible()
    expect(official.get_by_text("2 sealed bids received")).to_be_visible()
    expect(official.get_by_text("No organisation has bid")).to_have_count(0)
    official.get_by_text("Extend the deadline", exact=True).first.click()
    official.get_by_label("New deadline for bids").fill((city_today() + timedelta(days=27)).isoformat())
    official.get_by_label("Reason for the extension").fill("A public holiday fell in the bidding period.")
    official.get_by_role("button", name="Extend the deadline").click()
    expect(official.get_by_text("The deadline is extended; the bidders are told.")).to_be_visible()
    expect(official.get_by_text("A public holiday fell in the bidding period.")).to_be_visible()
    screenshot("deadline-extended", official)
    db.session.rollback()  # see what the server committed
    pass_deadline(db.session.query(Process).one())  # time passes
    official.reload()
    official.get_by_role("button", name="Close bidding and evaluate").click()
    # The evaluation panel: the department's official and one of the Commons Office.
    for member in (city.official, city.outsider):
        official.get_by_label("Official's email").fill(member.email)
        official.get_by_role("button", name="Appoint to the panel").click()
        expect(official.get_by_text("The official is on the evaluation panel.")).to_be_visible()
    expect(official.locator("section[aria-labelledby=panel-heading]")).to_contain_text(city.outsider.name)
    screenshot("panel", official)
    colleague = _signed_in(browser, live_server, city.outsider)
    colleague.goto(official.url)
    # Each member scores each bid once; on quality they disagree about La Tela (90 and 80: the panel's 85).
    for evaluator, marks in ((official, {"La Tela": ["90", "70", "60"], "Verde Lavoro": ["60", "90", "80"]}),
                             (colleague, {"La Tela": ["80", "70", "60"], "Verde Lavoro": ["60", "90", "80"]})):
        for org, scores in marks.items():
            evaluator.get_by_role("link", name=f"Score the bid of {org}").click()
            expect(evaluator.get_by_label("Price (weight 40)")).to_have_count(0)  # computed, not typed
            for n, (label, score) in enumerate(zip(["Quality of the service proposal (weight 30)",
                                                    "Employment of people at risk of exclusion (weight 20)",
                                                    "Local employment (weight 10)"], scores)):
                evaluator.get_by_label(label).fill(score)
                evaluator.get_by_label("Justification").nth(n).fill(f"{org}: seen in the proposal.")
            evaluator.get_by_role("button", name="Save").click()
            expect(evaluator.get_by_text(f"Your scores of {org} are saved.")).to_be_visible()
            expect(evaluator.get_by_text(f"You have scored the bid of {org}.")).to_be_visible()
    colleague.context.close()
    official.reload()
    expect(official.get_by_text("2 of 2 bids scored")).to_have_count(2)
    report = official.request.get(official.url + "/evaluation.pdf")
    assert report.ok and report.headers["content-type"] == "application/pdf"
    official.get_by_role("link", name="Decide the award").click()
    ranking = official.locator("table tbody tr")
    expect(ranking.first).to_contain_text("La Tela")
    # Price 96.94 (95,000 ÷ 98,000): 40×96.94 + 30×85 (the panel's mean) + 20×70 + 10×60 = 84.28.
    expect(ranking.first).to_contain_text("84.28")
    screenshot("award-ranking", official)
    official.get_by_role("button", name="Decide the award").click()
    expect(official.get_by_text("The award is decided.")).to_be_visible()
    expect(official.get_by_text("had the highest weighted score")).to_be_visible()
    # A mistake in the award is corrected by an amendment, never by typing over it.
    official.get_by_role("link", name="Amend the award").click()
    official.get_by_label("Justification of the award").fill("La Tela also covers the weekends.")
    official.get_by_label("Reason for the amendment").fill("The weekend cover was left out of the decision.")
    official.get_by_role("button", name="Save").click()
    expect(official.get_by_text("The amendment is recorded and published.")).to_be_visible()
    amended = official.locator("section[aria-labelledby=amendments-heading]")
    expect(amended.get_by_text("The weekend cover was left out of the decision.")).to_be_visible()
    expect(amended).to_contain_text("Justification: — → La Tela also covers the weekends.")
    history = official.locator("section[aria-labelledby=history-heading]")
    for step in ("Deadline for bids extended", "Official appointed to the evaluation panel", "Award amended"):
        expect(history.get_by_text(step).first).to_be_visible()
    screenshot("award-amended", official)

    today = city_today()
    official.get_by_role("link", name="Record the contract").click()
    official.get_by_label("Service ends").fill((today + timedelta(days=365)).isoformat())
    official.get_by_label("Milestones").fill(f"{(today + timedelta(days=14)).isoformat()} | Service starts")
    official.get_by_label("Social criterion").first.select_option(label="Employment of people at risk of exclusion")
    official.get_by_label("What is counted").first.fill("people hired from the work-integration list")
    official.get_by_label("Target").first.fill("3")
    official.get_by_label("Due on").first.fill((today + timedelta(days=90)).isoformat())
    screenshot("contract-form", official)
    official.get_by_role("button", name="Record the contract").click()
    expect(official.get_by_text("The contract is recorded.")).to_be_visible()
    screenshot("contract-recorded", official)
    official.get_by_role("link", name="Amend the contract").click()
    official.get_by_label("New contract value").fill("99000")
    official.get_by_label("Reason for the amendment").fill("Two more weekly visits agreed with the families.")
    official.get_by_role("button", name="Save").click()
    expect(official.get_by_text("The amendment is recorded and published.")).to_be_visible()
    screenshot("contract-amended", official)

    # The public register and the OCDS file, for anyone.
    page.goto(live_server + "/procurement/")
    row = page.locator("tr", has_text="Home care for older people")
    expect(row).to_contain_text("La Tela")
    expect(row).to_contain_text("Contract signed")
    screenshot("public-register")
    row.get_by_role("link").click()
    expect(page.get_by_text("3 people hired from the work-integration list")).to_be_visible()
    amendments = page.locator("section[aria-labelledby=amendments-heading]")
    expect(amendments.get_by_text("Two more weekly visits agreed with the families.")).to_be_visible()
    expect(amendments).to_contain_text("€98,000.00 → €99,000.00")
    expect(page.get_by_text("Weighted total")).to_have_count(0)  # per-criterion scores are not public
    screenshot("public-process")
    package = json.loads(page.request.get(live_server + "/open-data/procurement.json").text())
    assert [r["tag"] for r in package["releases"]] == [["tender"], ["tenderAmendment"], ["tenderUpdate"], ["award"],
                                                       ["awardUpdate"], ["contract"], ["contractAmendment"]]
    release = package["releases"][-1]  # the newest: the amended contract
    assert release["contracts"][0]["value"]["amount"] == 99000.0
    assert release["contracts"][0]["amendments"][0]["rationale"] == "Two more weekly visits agreed with the families."
    assert release["tender"]["amendments"][0]["rationale"] == "A public holiday fell in the bidding period."
    assert release["ocid"].startswith("ocds-procomun-villanova-PRC-")
    assert release["awards"][0]["suppliers"][0]["name"] == "La Tela"
    assert release["awards"][0]["amendments"][0]["rationale"] == "The weekend cover was left out of the decision."
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
