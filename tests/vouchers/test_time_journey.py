"""In a real browser: a co-op records a volunteer's care, the volunteer chooses a PIN and gives
some minutes to a relative after confirming, and the desk spends the rest only with the PIN."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from app.extensions import db
from app.organisations import operations as organisations
from vouchers import time_credits

from .test_journey import _sign_in, _sign_out

pytestmark = pytest.mark.browser


def test_earn_confirm_a_gift_and_spend_with_the_pin(live_server, page, screenshot, make_user, make_org,
                                                    make_category):
    from app.i18n import city_today
    coop = make_org("la-tela", name="La Tela Social Co-operative")
    organisations.accredit(coop, make_category("elder-care"), city_today() + timedelta(days=365), met_all=True)
    marco = make_user(Role.CITIZEN, email="marco@example.org", name="Marco Rossi")
    aina = make_user(Role.CITIZEN, email="aina@example.org", name="Aina Puig")
    make_user(Role.ORG_MEMBER, email="lucia@example.org", name="Lucía Fernández", organisations=[coop])
    db.session.commit()

    # The co-op records two hours Marco volunteered.
    _sign_in(page, live_server, "lucia@example.org")
    page.goto(live_server + "/vouchers/desk")
    page.get_by_label("Volunteer's or holder's email").fill(marco.email)
    page.get_by_label("Minutes").fill("120")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("The time credits are recorded.")).to_be_visible()
    _sign_out(page)

    # Marco chooses a PIN, then gives 30 minutes to Aina: asked first, moved once confirmed.
    _sign_in(page, live_server, marco.email)
    page.goto(live_server + "/vouchers/mine")
    page.get_by_label("New PIN").fill("4826")
    page.get_by_label("The PIN again").fill("4826")
    page.get_by_role("button", name="Set the PIN").click()
    expect(page.get_by_text("Your time-credit PIN is set.")).to_be_visible()
    page.get_by_label("Relative's email").fill(aina.email)
    page.get_by_label("Minutes").fill("30")
    page.get_by_role("button", name="Give the minutes").click()
    expect(page.get_by_text("Give 30 minutes to aina@example.org?")).to_be_visible()
    screenshot("gift-confirm")
    db.session.commit()  # end the test's read snapshot: the server wrote meanwhile
    assert time_credits.time_balance(marco) == 120
    page.get_by_role("button", name="Yes, give them").click()
    expect(page.get_by_text("Your 30 minutes are on their way to aina@example.org.")).to_be_visible()
    expect(page.get_by_text("You have 90 minutes of time credits.")).to_be_visible()
    _sign_out(page)

    # At the desk, spending Marco's minutes needs his PIN.
    _sign_in(page, live_server, "lucia@example.org")
    page.goto(live_server + "/vouchers/desk")
    page.get_by_label("Volunteer's or holder's email").fill(marco.email)
    page.get_by_label("Minutes").fill("60")
    page.get_by_label("What happened").select_option("spend")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("The holder's PIN is not right.")).to_be_visible()
    screenshot("spend-refused")
    page.get_by_label("Holder's time-credit PIN (to spend)").fill("4826")
    page.get_by_role("button", name="Record").click()
    expect(page.get_by_text("The time credits are recorded.")).to_be_visible()
    db.session.commit()
    assert time_credits.time_balance(marco) == 30 and time_credits.time_balance(aina) == 30
