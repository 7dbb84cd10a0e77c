"""A co-op member in a real browser: the bell shows two unread notices, the list
opens them, and marking them read empties the bell. An admin reads the mail folder."""
import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.notifications import operations as notes
from app.notifications.mail import unsubscribe_token
from app.notifications.worker import drain

from ..conftest import PASSWORD

pytestmark = pytest.mark.browser


def _sign_in(page, base, email):
    page.goto(base + "/account/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_bell_and_the_notification_list(app, live_server, page, screenshot, make_user, make_org):
    org = make_org("river-coop", name="River Coop")
    member = make_user("org_member", email="ana@example.org", organisations=[org])
    admin = make_user("admin", email="admin@example.org")
    for reason in ("Late report", "Missing insurance"):
        notes.emit("accreditation.suspended", "organisation", org.id, organisation=org.name, slug=org.slug,
                   category="elder-care", category_names={"en": "Elder care"}, reason=reason,
                   valid_until="2030-01-01")
    drain()  # no MAIL_SERVER: the emails become files in the instance folder

    _sign_in(page, live_server, member.email)
    bell = page.locator("a.bell")
    expect(bell.locator(".count")).to_have_text("2")
    screenshot("bell")
    bell.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    expect(page.locator(".notification.unread")).to_have_count(2)
    expect(page.get_by_role("link", name="has been suspended: Missing insurance")).to_be_visible()
    screenshot("list")
    page.get_by_role("button", name="Mark as read").first.click()
    expect(bell.locator(".count")).to_have_text("1")
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_text("Every notification is marked as read.")).to_be_visible()
    expect(bell.locator(".count")).to_have_count(0)
    screenshot("all-read")

    page.get_by_role("link", name="Preferences").click()
    suspended = page.get_by_role("group", name="An accreditation of your organisation is suspended")
    suspended.get_by_label("Daily digest").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your notification preferences are saved.")).to_be_visible()
    screenshot("preferences")
    db.session.commit()  # end the test's read snapshot: the server saved it in its own session
    assert notes.preferences(member)["accreditation.suspended"] == "digest"

    page.context.clear_cookies()
    _sign_in(page, live_server, admin.email)
    page.goto(live_server + "/notifications/mail")
    expect(page.locator(".mail-files li")).to_have_count(2)
    screenshot("mail-folder")

    # The unsubscribe link of an email works for a visitor who is not signed in.
    page.context.clear_cookies()
    page.goto(live_server + "/notifications/unsubscribe/" + unsubscribe_token(member.id, ["accreditation.expiring"]))
    expect(page.get_by_text("An accreditation of your organisation expires within 30 days")).to_be_visible()
    screenshot("unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    screenshot("unsubscribed")
