"""A newcomer in a real browser: registers as a citizen, switches to Italian,
and reads the platform in Italian."""
import re

import pytest
from playwright.sync_api import expect

from app.accounts.operations import find_user

pytestmark = pytest.mark.browser


def test_citizen_registers_and_switches_to_italian(live_server, page, screenshot):
    page.goto(live_server + "/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot("home-en")
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("Your name").fill("Chiara Neri")
    page.get_by_label("Email").fill("chiara@example.org")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Create my account").click()
    # Bad input: the form comes back with what was typed and the reason next to the field.
    expect(page.get_by_label("Your name")).to_have_value("Chiara Neri")
    expect(page.locator("#password-error")).to_contain_text("at least 10 characters")
    screenshot("register-error")
    page.get_by_label("Password", exact=True).fill("una-password-lunga")
    page.get_by_label("Repeat the password").fill("una-password-lunga")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Welcome, Chiara Neri")).to_be_visible()
    screenshot("registered")

    page.get_by_role("button", name="Italiano").click()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_role("button", name="Esci")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("beni comuni")
    screenshot("home-it")
    # The choice is remembered on the account, and across pages.
    page.get_by_role("link", name="Organizzazioni").first.click()
    expect(page.locator("html")).to_have_attribute("lang", "it")
    assert find_user("chiara@example.org").locale == "it"
    assert re.search(r"Organizzazioni", page.title())
