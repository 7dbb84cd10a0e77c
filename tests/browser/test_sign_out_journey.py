"""Signing out in a real browser, "Keep me signed in" ticked: the remember cookie leaves the
browser, and cookies copied before the sign-out (another browser holding them) sign nobody in."""
import pytest
from playwright.sync_api import expect

from app.accounts.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page, base, email):
    page.goto(base + "/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Keep me signed in on this device").check()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("You are signed in.")).to_be_visible()


def _names(context) -> set:
    return {cookie["name"] for cookie in context.cookies()}


def test_signing_out_with_keep_me_signed_in_signs_out(live_server, page, browser, make_user, screenshot):
    user = make_user(Role.CITIZEN, name="Marta Puig")
    _sign_in(page, live_server, user.email)
    assert {"session", "remember_token"} <= _names(page.context)
    copied = page.context.cookies()

    # Another browser holding a copy of the cookies is signed in, as long as the session lives.
    thief = browser.new_context(locale="en-GB")
    thief.add_cookies(copied)
    other = thief.new_page()
    other.goto(live_server + "/account/")
    expect(other.get_by_role("heading", name="Your account")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out, on this device and every other one.")).to_be_visible()
    screenshot("signed-out")
    assert "remember_token" not in _names(page.context)
    page.goto(live_server + "/account/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # The copies are dead too: the session cookie and, alone, the remember cookie.
    other.goto(live_server + "/account/")
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    thief.clear_cookies()
    thief.add_cookies([c for c in copied if c["name"] == "remember_token"])
    other.goto(live_server + "/account/")
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    thief.close()


def test_sign_out_everywhere_from_the_profile(live_server, page, browser, make_user, screenshot):
    user = make_user(Role.CITIZEN)
    phone = browser.new_context(locale="en-GB")
    phone_page = phone.new_page()
    _sign_in(phone_page, live_server, user.email)
    _sign_in(page, live_server, user.email)
    page.goto(live_server + "/account/")
    screenshot("profile")
    page.get_by_role("button", name="Sign out everywhere").click()
    expect(page.get_by_text("Every session of your account has ended, on every device.")).to_be_visible()
    phone_page.goto(live_server + "/account/")
    expect(phone_page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "remember_token" not in _names(page.context)
    phone.close()
