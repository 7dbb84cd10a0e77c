"""Every vouchers page, on the demo city, in a real browser: it renders, breaks no
content-security rule, and is captured for people to look at."""
import pytest
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PAGES = {
    None: ["/vouchers/", "/vouchers/directory?category=elder-care", "/vouchers/open-books"],
    "citizen@villanova.example": ["/vouchers/mine", "/vouchers/contribute"],
    "coop@villanova.example": ["/vouchers/desk", "/vouchers/statements"],
    "official@villanova.example": ["/vouchers/programmes", "/vouchers/programmes/home-care-demo",
                                   "/vouchers/settlements", "/vouchers/settlements/1", "/vouchers/transfers/2",
                                   "/vouchers/accounts/2"],
}


def test_every_page_renders_cleanly(app, live_server, page, screenshot):
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    for email, urls in PAGES.items():
        if email:
            page.goto(live_server + "/account/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for url in urls:
            response = page.goto(live_server + url)
            assert response.status == 200, url
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            screenshot(url.strip("/").replace("/", "-").split("?")[0])
        if email:
            page.get_by_role("button", name="Sign out").click()
    assert not problems, problems
