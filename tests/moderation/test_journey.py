"""Moderation in a real browser: three citizens report a comment; it disappears from the pact page,
the open data and the consultation PDF, with the reason shown; a moderator restores it; hidden a
second time, its author appeals and another moderator decides; the public log shows both hidings
without a single name."""
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from app.accounts.models import Role
from app.extensions import db
from app.notifications.worker import drain
from pacts.models import PactState

from ..conftest import PASSWORD
from ..pacts.conftest import World

pytestmark = pytest.mark.browser

TEXT = "The official Rossi lives at via Mascarella 12 and never answers."
REASON = "It gives a private address."


def sign_in(page, base, user):
    page.context.clear_cookies()
    page.goto(base + "/account/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def pdf_text(page, url) -> str:
    answer = page.request.get(url)
    assert answer.ok and answer.headers["content-type"] == "application/pdf"
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.body())).pages))


def test_citizens_report_a_comment_moderators_decide_and_the_author_appeals(
        app, live_server, page, screenshot, make_user):
    with app.test_request_context():
        world = World(make_user)
        pact = world.walk(world.propose(title="Shade for the Lunetta garden"), PactState.CONSULTATION)
    author = make_user(Role.CITIZEN, name="Aldo Author")
    citizens = [make_user(Role.CITIZEN, name=name) for name in ("Bea Uno", "Ciro Due", "Dina Tre", "Ezio Quattro")]
    mona = make_user(Role.MODERATOR, name="Mona Moderatrice")
    milo = make_user(Role.MODERATOR, name="Milo Moderatore")
    pact_url = f"{live_server}/pacts/{pact.id}"

    # The author comments during the public consultation.
    sign_in(page, live_server, author)
    page.goto(pact_url)
    page.get_by_label("Your comment").fill(TEXT)
    page.get_by_role("button", name="Publish my comment").click()
    expect(page.get_by_text("Your comment is published.")).to_be_visible()
    comment = page.locator("article.comment").first  # the only one: commenters are not named in public

    # Three citizens report it.
    for n, citizen in enumerate(citizens[:3]):
        sign_in(page, live_server, citizen)
        page.goto(pact_url)
        comment.get_by_role("link", name="Report").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Report it to the moderators")
        page.get_by_label("Personal data that should not be public").check()
        page.get_by_label("What is wrong with it").fill(f"An address, says citizen {n + 1}.")
        if n == 0:
            screenshot("report-form")
        page.get_by_role("button", name="Send the report").click()
        expect(page.get_by_text("Thank you: your report is sent to the moderators.")).to_be_visible()

    # Hidden at once, in its place, with the reason; on the page, in the open data, in the PDF.
    expect(comment.locator(".moderated")).to_have_text("Hidden by moderation: awaiting a moderator's review")
    expect(page.get_by_text(TEXT)).to_have_count(0)
    screenshot("hidden-pending-review")
    page.context.clear_cookies()
    page.goto(live_server + "/open-data/pact-comments.json")
    export = page.locator("body").inner_text()
    assert "Hidden by moderation: awaiting a moderator" in export and "via Mascarella" not in export
    pdf = pdf_text(page, f"{pact_url}/consultation.pdf")
    assert "Hidden by moderation: awaiting a moderator" in pdf and "via Mascarella" not in pdf

    # A moderator reviews it from the queue and restores it.
    sign_in(page, live_server, mona)
    page.get_by_role("link", name="Moderation", exact=True).click()
    expect(page.get_by_text("Personal data that should not be public × 3")).to_be_visible()
    screenshot("queue")
    page.get_by_role("link", name="Comment on a pact: Shade for the Lunetta garden").click()
    screenshot("case")
    page.get_by_role("button", name="Restore it").click()
    expect(page.get_by_text("It is shown, and the reports on it are settled.")).to_be_visible()
    page.goto(pact_url)
    expect(page.get_by_text(TEXT)).to_be_visible()

    # A fourth citizen reports it; the moderator hides it, with a public reason.
    sign_in(page, live_server, citizens[3])
    page.goto(pact_url)
    comment.get_by_role("link", name="Report").click()
    page.get_by_label("Abuse, insults or harassment").check()
    page.get_by_role("button", name="Send the report").click()
    sign_in(page, live_server, mona)
    page.get_by_role("link", name="Moderation", exact=True).click()
    page.get_by_role("link", name="Comment on a pact: Shade for the Lunetta garden").click()
    page.get_by_label("Public reason for hiding it").fill(REASON)
    page.get_by_role("button", name="Hide it").click()
    expect(page.get_by_text("It is hidden, and its author is told why.")).to_be_visible()
    page.goto(pact_url)
    expect(comment.locator(".moderated")).to_have_text(f"Hidden by moderation: {REASON}")

    # The author hears why, and appeals from the notice.
    with app.app_context():
        drain()
    sign_in(page, live_server, author)
    page.locator("a.bell").click()
    page.get_by_role("link", name=re.compile("A moderator hid what you wrote")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Appeal a moderation decision")
    expect(page.get_by_text(TEXT)).to_be_visible()  # the author still reads their own text here
    page.get_by_label("Why should it be shown again?").fill("Rossi is a public official and that is his office.")
    screenshot("appeal")
    page.get_by_role("button", name="Send my appeal").click()
    expect(page.get_by_text("Your appeal is sent.")).to_be_visible()

    # The moderator who hid it may not decide the appeal; another moderator does.
    sign_in(page, live_server, mona)
    page.get_by_role("link", name="Moderation", exact=True).click()
    page.get_by_role("link", name="Comment on a pact: Shade for the Lunetta garden").click()
    expect(page.get_by_text("You hid this: another moderator decides on its appeal.")).to_be_visible()
    expect(page.get_by_role("button", name="Restore it (uphold the appeal)")).to_have_count(0)
    sign_in(page, live_server, milo)
    page.get_by_role("link", name="Moderation", exact=True).click()
    page.get_by_role("link", name="Comment on a pact: Shade for the Lunetta garden").click()
    expect(page.get_by_text("Rossi is a public official")).to_be_visible()
    page.get_by_label("Public reason for hiding it").fill("A home address, not an office.")
    page.get_by_role("button", name="Keep it hidden (reject the appeal)").click()
    expect(page.get_by_text("It is hidden, and its author is told why.")).to_be_visible()

    # The public log shows both hidings and the restoring, without a name.
    page.context.clear_cookies()
    page.goto(live_server + "/")
    page.get_by_role("link", name="Moderation log").click()
    rows = page.locator("table.moderation-log tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Kept hidden after an appeal")
    expect(rows.nth(1)).to_contain_text(REASON)
    expect(rows.nth(2)).to_contain_text("Restored")
    expect(rows.nth(3)).to_contain_text("Hidden until reviewed, after reports from several people")
    screenshot("public-log")
    log = page.locator("main").inner_text()
    for person in (author, *citizens, mona, milo, world.citizen, world.official):
        assert person.name not in log
    assert "via Mascarella" not in log
    db.session.commit()
