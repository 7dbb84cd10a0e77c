"""A pact from proposal to report, in a real browser: a citizen proposes, an
official runs the consultation, evaluates and co-designs, both sign, the
citizen files a report, and the signed PDF downloads with every clause."""
import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from app.accounts.models import Role
from app.extensions import db
from app.i18n import city_today
from pacts import commons_register
from pacts.models import CLAUSES, Pact

from ..conftest import PASSWORD

pytestmark = pytest.mark.browser

AGREED = {key: f"Agreed {key.replace('_', ' ')} for the Navile garden." for key in CLAUSES}


def sign_in(page, base, user):
    page.goto(base + "/account/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def decide(page, label):
    page.get_by_role("button", name=label).click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_citizen_and_official_make_a_pact_and_report_on_it(live_server, page, screenshot, make_user, app):
    citizen = make_user(Role.CITIZEN, name="Chiara Neri")
    official = make_user(Role.OFFICIAL, name="Paolo Uffici")
    with app.test_request_context():
        commons_register.save_commons(actor=official, name="Giardino di via Fioravanti", kind="green_area",
                                      neighbourhood="Navile", latitude=44.51, longitude=11.34)
        labels = {key: str(label) for key, label in CLAUSES.items()}

    # The citizen proposes a complex pact and sends it.
    sign_in(page, live_server, citizen)
    page.goto(live_server + "/pacts/")
    page.get_by_role("link", name="Propose a pact").click()
    page.get_by_label("Title").fill("A community garden in via Fioravanti")
    page.get_by_label("Kind of intervention").select_option("regeneration")
    page.get_by_label("Complex pact (co-design)").check()
    page.get_by_label("Giardino di via Fioravanti").check()
    page.get_by_label("What you propose to do").fill("Turn the lawn into vegetable beds open to all.")
    page.get_by_label("Tools and equipment").check()
    # She agrees to be named as the proposer (without it the public reads "a resident of Navile").
    page.get_by_label("Publish my name with the proposal").check()
    screenshot("proposal-form")
    page.get_by_role("button", name="Save my proposal as a draft").click()
    expect(page.get_by_text("Your proposal is saved as a draft")).to_be_visible()
    page.get_by_role("button", name="Send the proposal to the city").click()
    expect(page.get_by_text("Your proposal is sent.")).to_be_visible()
    pact_url = page.url
    screenshot("proposal-sent")
    sign_out(page)

    # The official publishes it for consultation, evaluates it and starts co-design.
    sign_in(page, live_server, official)
    page.goto(live_server + "/pacts/desk")
    page.get_by_role("link", name="A community garden in via Fioravanti").click()
    decide(page, "Open the public consultation")
    db.session.rollback()  # end the test's read snapshot: the server wrote since
    pact = db.session.execute(db.select(Pact)).scalar_one()
    pact.consultation_ends = city_today()  # the consultation period has run its course
    db.session.commit()
    page.reload()
    decide(page, "Close the consultation and evaluate")
    decide(page, "Start co-design")
    page.get_by_role("link", name="Edit the clauses (co-design)").click()
    for key, text in AGREED.items():
        page.get_by_label(labels[key]).fill(text)
    page.get_by_label("What changed in this version").fill("Agreed at the meeting of 3 May")
    screenshot("co-design")
    page.get_by_role("button", name="Save a new version").click()
    expect(page.get_by_text("Version 2 is saved.")).to_be_visible()
    page.get_by_role("link", name="Compare the 2 versions").click()
    expect(page.locator("ins").first).to_be_visible()
    screenshot("versions-compared")
    page.goto(pact_url)
    decide(page, "Approve the pact for signing")
    page.get_by_role("button", name="Sign version 2").click()
    expect(page.get_by_text("Your signature is recorded.")).to_be_visible()
    sign_out(page)

    # The citizen signs too.
    sign_in(page, live_server, citizen)
    page.goto(pact_url)
    page.get_by_role("button", name="Sign version 2").click()
    expect(page.locator(".tag-signed")).to_have_text("Signed by both parties")
    sign_out(page)

    # The official puts it in force; the citizen reports.
    sign_in(page, live_server, official)
    page.goto(pact_url)
    decide(page, "Put the pact in force")
    sign_out(page)
    sign_in(page, live_server, citizen)
    page.goto(pact_url)
    page.get_by_role("link", name="File a report").click()
    page.get_by_label("Activities done").fill("Built six raised beds with the neighbours.")
    page.get_by_label("Volunteer hours").fill("36")
    page.get_by_label("Results").fill("The first tomatoes.")
    page.get_by_role("button", name="Publish the report").click()
    expect(page.get_by_text("Built six raised beds with the neighbours.")).to_be_visible()
    screenshot("pact-with-report")

    # The signed PDF carries every clause, both signatures and the version.
    response = page.request.get(pact_url + "/pact.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    text = " ".join(text.split())
    for clause in AGREED.values():
        assert clause in text
    assert "Chiara Neri" in text and "Paolo Uffici, for the city" in text and "version 2" in text
