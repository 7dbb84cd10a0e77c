"""A phone (390 × 844, Chromium) in English, Spanish, Italian and Catalan, over every kind of page of the
demo city — lists, detail pages, forms, the co-op's front desk — as the people who use them, with a
200-character word seeded into a record of each module. On every page: no label of a detail list
(<dl>) overlaps its value, nothing is wider than the screen, and the page's heading is on the first
screen under the folded menu; at the desk, the code, the amount and Redeem are on the first screen
without scrolling."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.accounts.models import User
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.i18n import LANGUAGE_NAMES
from app.organisations.models import Organisation
from councils.models import Council
from pacts.models import Pact
from procurement.models import Process
from vouchers.models import Programme, Voucher

from .crawl import PEOPLE, load_demo

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LANGUAGES = ("en", "es", "it", "ca")
LONG_WORD = "Longword" * 25  # 200 characters and no space: a title pasted from a URL, a typo

# One painted box per element: its own box and its text's, which overflows the box when it cannot wrap.
MEASURE = """([longWord, screenWidth]) => {
  const painted = (el) => {
    const range = document.createRange(); range.selectNodeContents(el);
    const a = el.getBoundingClientRect(), b = range.getBoundingClientRect();
    if (!b.width && !b.height) return a;
    return {left: Math.min(a.left, b.left), right: Math.max(a.right, b.right),
            top: Math.min(a.top, b.top), bottom: Math.max(a.bottom, b.bottom)};
  };
  const overlaps = (a, b) =>
    a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const problems = [];
  let pairs = 0;
  for (const dl of document.querySelectorAll('dl')) {
    for (const dt of dl.querySelectorAll('dt')) {
      for (let dd = dt.nextElementSibling; dd && dd.tagName === 'DD'; dd = dd.nextElementSibling) {
        pairs++;
        const label = painted(dt), value = painted(dd);
        const name = `"${dt.textContent.trim()}" / "${dd.textContent.trim().slice(0, 30)}"`;
        if (overlaps(label, value)) problems.push(`label over its value: ${name}`);
        else if (dl.classList.contains('facts') && !(value.left >= label.right - 1 && value.top < label.bottom))
          problems.push(`label not beside its value: ${name}`);
      }
    }
  }
  // A phone shows a page wider than its screen zoomed out (innerWidth grows with it, up to four times).
  const width = Math.max(document.documentElement.scrollWidth, innerWidth);
  if (width > screenWidth) {
    const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > screenWidth + 1)
      .slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''));
    problems.push(`${width} px wide on a ${screenWidth} px screen (${wide.join(', ')})`);
  }
  const h1 = document.querySelector('main h1');
  const top = h1 ? h1.getBoundingClientRect().top : Infinity;
  if (top > innerHeight / 3) problems.push(`the heading starts ${top} px down the screen`);
  return {problems, pairs, longWord: document.body.innerText.includes(longWord)};
}"""

DESK = """() => {
  const needed = [...document.querySelectorAll(
    'form.desk-redeem input[name=code], form.desk-redeem input[name=amount], form.desk-redeem button[type=submit]')];
  const below = needed.filter(e => e.getBoundingClientRect().bottom > innerHeight || e.getBoundingClientRect().top < 0)
    .map(e => e.name || e.textContent.trim());
  return {scrolled: scrollY, below, found: needed.length};
}"""


def seed_long_words():
    """The 200-character word in a record of each module that the tour's lists and pages show."""
    pact = db.session.scalars(select(Pact).where(Pact.state == "active").order_by(Pact.id)).first()
    pact.title = LONG_WORD
    commons = pact.commons[0]
    commons.name = LONG_WORD
    council = db.session.scalars(select(Council).order_by(Council.id)).first()
    council.name = LONG_WORD
    tender = db.session.scalars(select(Process).where(Process.phase.in_(("contract", "implementation")))
                                .order_by(Process.id)).first()
    tender.title = LONG_WORD
    voucher = db.session.scalars(select(Voucher).join(Voucher.holder).where(
        User.email == PEOPLE["citizen"], Voucher.status == "active").order_by(Voucher.id)).first()
    programme = db.session.get(Programme, voucher.programme_id)
    programme.name = LONG_WORD
    organisation = db.session.scalars(select(Organisation).where(Organisation.slug != "la-tela")
                                      .order_by(Organisation.id)).first()
    organisation.name = LONG_WORD
    db.session.commit()
    return {"pact": pact.id, "commons": commons.id, "council": council.slug, "tender": tender.id,
            "voucher": voucher.id, "programme": programme.slug, "organisation": organisation.slug}


def tour(ids):
    """(person, url) for one page of each kind in each module: lists, detail pages, forms, the desk."""
    return [
        ("anonymous", "/"),
        ("anonymous", "/pacts/"),                                  # lists
        ("anonymous", "/pacts/commons"),
        ("anonymous", "/councils/"),
        ("anonymous", "/procurement/"),
        ("anonymous", "/vouchers/directory"),
        ("anonymous", "/organisations/"),
        ("anonymous", "/open-data/"),
        ("anonymous", f"/pacts/{ids['pact']}"),                   # detail pages
        ("anonymous", f"/pacts/commons/{ids['commons']}"),
        ("anonymous", f"/councils/{ids['council']}"),
        ("anonymous", f"/procurement/{ids['tender']}"),
        ("anonymous", "/vouchers/open-books"),
        ("anonymous", f"/organisations/{ids['organisation']}"),
        ("anonymous", "/account/register"),                       # forms
        ("citizen", f"/vouchers/mine/{ids['voucher']}"),
        ("citizen", "/pacts/propose"),
        ("coop", "/vouchers/desk"),                               # the desk
        ("official", f"/vouchers/programmes/{ids['programme']}"),
        ("official", "/pacts/desk"),
        ("official", "/procurement/new"),
        ("official", f"/councils/{ids['council']}/meetings/new"),
    ]


def sign_in_speaking(page, base, who, language):
    """A fresh session for `who`, who then picks `language` in the folded menu (it stays on the account)."""
    page.context.clear_cookies()
    page.goto(f"{base}/account/login")
    page.fill("input[name=email]", PEOPLE[who])
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    menu = page.locator("details.menu")
    expect(menu.locator(".main-nav")).to_be_hidden()
    menu.locator("summary").click()
    menu.get_by_role("button", name=LANGUAGE_NAMES[language]).click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def test_every_kind_of_page_fits_a_phone_in_four_languages(app, live_server, browser, screenshot, capsys):
    load_demo(app)
    ids = seed_long_words()
    problems, checked, pairs, with_long_word = [], 0, 0, set()
    for language in LANGUAGES:
        context = browser.new_context(viewport=PHONE, locale=language, has_touch=True, is_mobile=True)
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            person = None
            for index, (who, url) in enumerate(tour(ids)):
                if who != person:
                    person = who
                    if who != "anonymous":
                        sign_in_speaking(page, live_server, who, language)
                response = page.goto(live_server + url)
                assert response.status == 200, f"{who} {url}: {response.status}"
                assert page.locator("html").get_attribute("lang") == language, url
                result = page.evaluate(MEASURE, [LONG_WORD, PHONE["width"]])
                problems += [f"{language} {who} {url}: {p}" for p in result["problems"]]
                pairs += result["pairs"]
                if result["longWord"]:
                    with_long_word.add(url)
                if url == "/vouchers/desk":
                    desk = page.evaluate(DESK)
                    assert desk["found"] == 3, "the desk's code, amount and Redeem were not found"
                    if desk["scrolled"] or desk["below"]:
                        problems.append(f"{language} desk: {desk['below']} not on the first screen "
                                        f"(scrolled {desk['scrolled']} px)")
                # Each page once, in the four languages in turn (the desk in all four): a full-page shot costs.
                if url == "/vouchers/desk" or index % len(LANGUAGES) == LANGUAGES.index(language):
                    screenshot(f"{language}-{who}-{url.strip('/').replace('/', '-') or 'home'}", target=page)
                checked += 1
        finally:
            context.close()
    with capsys.disabled():
        print(f"\nphone: {checked} pages, {pairs} label/value pairs measured, "
              f"the long word on {len(with_long_word)} kinds of page")
    # The checks saw what they are about: detail lists in every language, the long word on every module's pages.
    assert pairs >= 30 * len(LANGUAGES)
    assert len(with_long_word) >= 10, sorted(with_long_word)
    assert not problems, "\n".join(problems)


def test_the_menu_folds_on_a_phone_and_opens_by_keyboard(live_server, browser):
    context = browser.new_context(viewport=PHONE, locale="ca")
    page = context.new_page()
    try:
        page.goto(live_server + "/")
        nav = page.get_by_role("navigation", name="Principal")
        expect(nav).to_be_hidden()
        assert page.locator("main h1").bounding_box()["y"] < 150
        summary = page.locator("details.menu > summary")
        summary.focus()
        page.keyboard.press("Enter")
        expect(nav).to_be_visible()
        expect(nav.get_by_role("link", name="Pactes de col·laboració")).to_be_visible()
        page.keyboard.press("Tab")  # the first thing in the menu: the language
        assert page.evaluate("document.activeElement.closest('details.menu') !== null")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Enter")
        expect(nav).to_be_hidden()
        # On a wide screen there is nothing to open: the links are in the bar.
        page.set_viewport_size({"width": 1280, "height": 800})
        expect(summary).to_be_hidden()
        expect(nav.get_by_role("link", name="Pactes de col·laboració")).to_be_visible()
    finally:
        context.close()
