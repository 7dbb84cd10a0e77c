"""In a real browser: an official issues vouchers, a citizen sees one, a co-op
redeems part of it, settlement pays the co-op, and the statement PDF downloads."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.database import utcnow
from app.extensions import db
from app.organisations import operations as organisations
from tests.conftest import PASSWORD
from vouchers import figures, ledger, redemption
from vouchers.models import Redemption

pytestmark = pytest.mark.browser


def _sign_in(page, base, email):
    page.goto(base + "/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def test_issue_see_redeem_settle_statement(live_server, page, screenshot, make_user, make_org, make_category,
                                           tmp_path):
    from app.i18n import city_today
    today = city_today()
    care = make_category("elder-care")
    coop = make_org("la-tela", name="La Tela Social Co-operative", neighbourhood="San Donato")
    organisations.accredit(coop, care, today + timedelta(days=365), met_all=True)
    official = make_user(Role.OFFICIAL, email="official@example.org", name="Giulia Bianchi")
    make_user(Role.CITIZEN, email="marco@example.org", name="Marco Rossi")
    make_user(Role.ORG_MEMBER, email="lucia@example.org", name="Lucía Fernández", organisations=[coop])
    db.session.commit()

    # The official opens a programme and runs the monthly issuance from a CSV file.
    _sign_in(page, live_server, official.email)
    page.goto(live_server + "/vouchers/programmes")
    page.get_by_label("Short name (for addresses and scripts)").fill("home-care-2027")
    page.get_by_label("Name", exact=True).fill("Home care 2027")
    page.get_by_label("Budget", exact=True).fill("10000")
    page.get_by_label("Elder Care").check()
    page.get_by_label("Valid until").fill((today + timedelta(days=180)).isoformat())
    screenshot("programme-form")
    page.get_by_role("button", name="Open the programme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Home care 2027")
    batch = tmp_path / "march.csv"
    batch.write_text("holder_email,amount_cents,valid_until\nmarco@example.org,20000,\n"
                     "aina@example.org,15000,\nwrong-line,1,\n")
    page.locator("#file").set_input_files(str(batch))
    page.get_by_role("button", name="Check and issue").click()
    expect(page.get_by_text("“wrong-line” is not an email address.")).to_be_visible()
    expect(page.get_by_text("nothing was issued")).to_be_visible()
    screenshot("batch-refused")
    page.locator("#file").set_input_files(str(batch))
    page.get_by_label("Issue the good rows even if some rows are bad").check()
    page.get_by_role("button", name="Check and issue").click()
    # Nobody has Aina's email yet: listed, nothing issued, until the official chooses to invite her.
    expect(page.get_by_text("Rows with an email no account has: 1. Nothing was issued.")).to_be_visible()
    expect(page.get_by_role("cell", name="aina@example.org")).to_be_visible()
    screenshot("batch-unknown-holders")
    page.locator("#file").set_input_files(str(batch))
    page.get_by_label("Issue the good rows even if some rows are bad").check()
    page.get_by_label("Invite these people").check()
    page.get_by_role("button", name="Check and issue").click()
    expect(page.get_by_text("2 vouchers issued")).to_be_visible()
    screenshot("batch-issued")
    page.get_by_role("link", name="Back to the programme").click()
    screenshot("programme")
    _sign_out(page)

    # The citizen sees the voucher, its QR code and its code.
    _sign_in(page, live_server, "marco@example.org")
    page.goto(live_server + "/vouchers/mine")
    expect(page.get_by_text("€200.00 left of €200.00")).to_be_visible()
    code = page.locator(".voucher-code").first.inner_text()
    screenshot("citizen-vouchers")
    page.get_by_role("link", name="Home care 2027").click()
    expect(page.get_by_alt_text(f"QR code of voucher {code}")).to_be_visible()
    screenshot("citizen-voucher")
    _sign_out(page)

    # The co-op's front desk: a mistyped code is refused, then part of the voucher is redeemed.
    _sign_in(page, live_server, "lucia@example.org")
    page.goto(live_server + "/vouchers/desk")
    mistyped = code[1] + code[0] + code[2:] if code[0] != code[1] else code[:-1] + ("2" if code[-1] != "2" else "3")
    page.get_by_label("Voucher code").fill(mistyped)
    page.get_by_label("Amount", exact=True).fill("45,00")
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_text("This code is mistyped: check each character.")).to_be_visible()
    screenshot("desk-refused")
    page.get_by_label("Voucher code").fill(code)
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_text(f"Redeemed €45.00 on {code}; €155.00 remain.")).to_be_visible()
    screenshot("desk-redeemed")
    _sign_out(page)

    # A week passes: the redemption now belongs to last week.
    db.session.commit()  # end the test's read snapshot before writing
    db.session.query(Redemption).update({Redemption.at: utcnow() - timedelta(days=7)})
    db.session.commit()
    figures.rebuild()  # the running sums are kept by month: moved back, they are recomputed

    # The official settles last week; the co-op is paid and its statement downloads.
    _sign_in(page, live_server, official.email)
    page.goto(live_server + "/vouchers/settlements")
    page.get_by_label("From").fill((today - timedelta(days=13)).isoformat())
    page.get_by_label("To (included)").fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Settle").click()
    expect(page.get_by_text("The period is settled.")).to_be_visible()
    expect(page.get_by_role("cell", name="La Tela Social Co-operative")).to_be_visible()
    expect(page.get_by_role("cell", name="€45.00")).to_be_visible()
    screenshot("settlement")
    link = page.get_by_role("link", name="Statement (PDF)")
    response = page.request.get(live_server + link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    db.session.commit()  # read what the server wrote
    assert redemption.organisation_balance(coop) == 0
    assert ledger.verify().ok
