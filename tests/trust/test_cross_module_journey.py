"""The whole chain in a real browser, in English and in Catalan: a council adopts a
priority need → the procurement office opens a reserved tender for it → a co-op
wins → the co-op is accredited for the category → citizens receive vouchers →
they redeem at the co-op → settlement → the public pages and open-data files
show the chain. Forms are found by their fields' names, so the same steps run
in any language; in Catalan the sign-in and the redemption are done with the
keyboard alone. Screenshots of each step land in test-artifacts/. The English run is
part of `make test`, the Catalan one of `make check-slow`."""
import json
import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.accounts.models import Role
from app.database import transaction
from app.extensions import db
from app.i18n import city_timezone, city_today
from app.organisations.defaults import ensure_defaults
from councils import chairs, meetings, needs, seats
from councils import operations as councils
from procurement.models import Process

from ..conftest import PASSWORD

pytestmark = pytest.mark.browser
CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")


@pytest.fixture
def world(app, make_user, make_org, make_category):
    """People and places before the story starts: a council with its Chair and a meeting
    starting now, the city's department, a co-op, two citizens."""
    today = city_today()
    ensure_defaults()  # the accreditation checklist and service categories, as `flask seed` makes
    care = make_category("elder-care", ca="Atenció a la gent gran", es="Atención a mayores")
    department = make_org("social-services", kind="municipal_department", name="Social Services")
    coop = make_org("la-tela", name="La Tela", neighbourhood="San Donato")
    official = make_user(Role.OFFICIAL, Role.ADMIN, email="official@example.org", name="Olga Official",
                         organisations=[department])
    member = make_user(Role.ORG_MEMBER, email="coop@example.org", name="Lucía Coop", organisations=[coop])
    chair = make_user(Role.COUNCIL_MEMBER, email="chair@example.org", name="Carles Civil")
    colleague = make_user(Role.COUNCIL_MEMBER, email="gov@example.org", name="Ana Government")
    citizens = [make_user(Role.CITIZEN, email=f"citizen{n}@example.org", name=f"Citizen {n}") for n in (1, 2)]
    council = councils.create_council("harbour", "Harbour Council", seats_per_side=1,
                                      first_term_start=today - timedelta(days=30), first_chair_side="civil",
                                      actor=official, locale="en")
    other = seats.seat_member(council, colleague, "government", actor=official, on=today - timedelta(days=30))
    seat = seats.seat_member(council, chair, "civil", actor=official, on=today - timedelta(days=30))
    chairs.appoint(council, "chair", seat, actor=official, on=today - timedelta(days=30))
    chairs.appoint(council, "vice_chair", other, actor=official, on=today - timedelta(days=30))
    now = datetime.now(city_timezone()).replace(second=0, microsecond=0)
    now = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0))  # today's, just after midnight too
    meeting = meetings.schedule_meeting(council, "Spring session", now, actor=official, now=now - timedelta(days=1),
                                        agenda=["Priority needs for elder care"])
    db.session.commit()

    class World:
        pass
    w = World()
    w.__dict__.update(today=today, care=care, coop=coop, department=department, official=official, member=member,
                      chair=chair, colleague=colleague, citizens=citizens, council=council, meeting_id=meeting.id)
    return w


class Person:
    """One person's browser, in the journey's language."""

    def __init__(self, browser, live_server, screenshot, user, language, keyboard=False):
        self.base, self.shot, self.language = live_server, screenshot, language
        self.context = browser.new_context(locale={"en": "en-GB", "ca": "ca-ES"}[language])
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.page.goto(self.base + "/account/login")
        if keyboard:
            self.tab_to("email")
            self.page.keyboard.type(user.email)
            self.page.keyboard.press("Tab")
            self.page.keyboard.type(PASSWORD)
            self.page.keyboard.press("Enter")
        else:
            self.page.fill("main input[name=email]", user.email)
            self.page.fill("main input[name=password]", PASSWORD)
            self.page.locator("main form:has(input[name=password]) button").first.click()
        self.page.wait_for_load_state()
        expect(self.page.locator("form[action$='/account/logout']")).to_have_count(1)
        assert self.page.locator("html").get_attribute("lang") == language

    def go(self, path):
        self.page.goto(self.base + path)
        return self

    def tab_to(self, name, limit=80):
        """Move the keyboard focus to the control named `name`, as a keyboard user would."""
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if self.page.evaluate("document.activeElement && document.activeElement.name") == name:
                return
        raise AssertionError(f"{name} cannot be reached with the Tab key")

    def submit(self, fields=None, *, has=None, action=None, button=None, shot=None):
        """Fill the form that has field `has` (or posts to `action`) and press its button."""
        fields = fields or {}
        has = has or (next(iter(fields)) if fields else None)
        form = (self.page.locator(f"main form[action*='{action}']") if action
                else self.page.locator(f"main form:has([name='{has}'])")).first
        for name, value in fields.items():
            control = form.locator(f"[name='{name}']")
            kind = control.first.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
            if kind.startswith("select"):
                control.select_option(value)
            elif kind.endswith(("checkbox", "radio")):
                for v in ([value] if isinstance(value, str) else value):
                    form.locator(f"[name='{name}'][value='{v}']").check()
            else:
                control.fill(value)
        (form.locator(f"button[value='{button}']") if button else form.locator("button").last).click()
        self.page.wait_for_load_state()
        errors = self.page.locator("main .error, main .alert-error")
        assert errors.count() == 0, (self.page.url, errors.all_inner_texts())
        if shot:
            self.shot(shot, self.page)
        return self

    def close(self):
        self.context.close()


def _id_from(url, pattern):
    return int(re.search(pattern, url).group(1))


@pytest.mark.parametrize("language", ["en", pytest.param("ca", marks=pytest.mark.slow)])
def test_from_a_council_priority_to_redeemed_vouchers_and_open_data(
        live_server, browser, screenshot, world, language):
    w, today, keyboard = world, world.today, language == "ca"
    shoot = screenshot
    screenshot = lambda name, target=None: shoot(f"{language}-{name}", target)  # noqa: E731
    days = lambda n: (today + timedelta(days=n)).isoformat()  # noqa: E731
    person = lambda user, **kw: Person(browser, live_server, screenshot, user, language, **kw)  # noqa: E731

    # 1. The council adopts a priority need: the Chair opens the meeting, puts the motion, both vote.
    chair = person(w.chair).go(f"/councils/meetings/{w.meeting_id}")
    chair.shot("council-meeting", chair.page)
    present = chair.page.locator("main input[name=present]").evaluate_all("els => els.map(e => e.value)")
    chair.submit({"present": present}, has="present")
    chair.submit({"title": "Home care for people over 80 comes first", "text": "Waiting lists doubled.",
                  "need_category": "elder-care", "need_rank": "1",
                  "need_rationale": "Waiting lists doubled in two years."}, has="need_category",
                 shot="motion-put")
    chair.submit(action="/open")
    chair.submit(action="/vote", button="yes")
    colleague = person(w.colleague).go(chair.page.url.replace(live_server, ""))
    colleague.submit(action="/vote", button="yes")
    colleague.close()
    chair.page.reload()
    chair.submit(action="/close", shot="need-adopted")
    chair.close()
    db.session.rollback()  # read what the server wrote
    need = needs.priority_needs(category_slug="elder-care")[0]

    # 2. The procurement office opens a reserved tender for that need.
    office = person(w.official).go("/procurement/new")
    office.submit({"title": "Home care for people over 80", "department": str(w.department.id),
                   "category": "elder-care", "priority_need": str(need.id), "budget": "150000",
                   "procedure": "reserved"}, shot="tender-created")
    process_id = _id_from(office.page.url, r"/procurement/(\d+)")
    office.go(f"/procurement/{process_id}/criteria").submit(
        {"weight_price": "40", "weight_quality": "30", "weight_social_inclusion": "20",
         "weight_local_employment": "10"})
    office.go(f"/procurement/{process_id}").submit({"deadline": days(20)}, shot="tender-published")

    # 3. The co-op bids and wins.
    coop = person(w.member).go(f"/procurement/{process_id}/bid")
    for box in coop.page.locator("main form:has([name='summary']) input[type=checkbox]").all():
        box.check()  # the declarations the reserved tender requires
    coop.submit({"amount": "98000", "summary": "Twelve carers, weekend cover."}, has="summary", shot="bid")
    with transaction():  # time passes: bidding closes only after the deadline
        db.session.get(Process, process_id).bid_deadline = today - timedelta(days=1)
    office.go(f"/procurement/{process_id}").submit(action="close-bidding")
    office.submit({"evaluator": w.official.email}, has="evaluator")  # the official sits on the panel
    score = office.page.locator("main a[href*='/score']").first.get_attribute("href")
    office.go(score)
    scores = office.page.locator("main form input[type=number]").evaluate_all("els => els.map(e => e.name)")
    notes = office.page.locator("main form textarea").evaluate_all("els => els.map(e => e.name)")
    office.submit({name: "80" for name in scores} | {name: "Seen in the proposal." for name in notes}, shot="score")
    office.go(f"/procurement/{process_id}/award").submit(
        {"justification": "The only bid, and a good one."}, has="justification", shot="award")
    office.go(f"/procurement/{process_id}/contract").submit(
        {"period_end": days(365), "milestones": f"{days(14)} | Service starts",
         "commitments-0-criterion": "social_inclusion",
         "commitments-0-description": "people hired from the work-integration list",
         "commitments-0-target": "3", "commitments-0-due_on": days(90)},
        has="milestones", shot="contract")

    # 4. The same co-op is accredited for the category.
    office.go("/organisations/la-tela/accredit")
    checklist = office.page.locator("main input[name=checklist]").evaluate_all("els => els.map(e => e.value)")
    office.submit({"category": "elder-care", "valid_until": days(365), "checklist": checklist,
                   "wage_ratio": "3"}, has="valid_until", shot="accredited")

    # 5. Citizens receive vouchers.
    office.go("/vouchers/programmes").submit(
        {"slug": "home-care", "name": "Home care", "budget": "10000", "categories": ["elder-care"],
         "valid_until": days(200)}, has="budget", shot="programme")
    for citizen in w.citizens:
        office.go("/vouchers/programmes/home-care").submit(
            {"holder_email": citizen.email, "amount": "50"}, has="holder_email")
    office.shot("vouchers-issued", office.page)

    # 6. They redeem at the co-op (in Catalan, with the keyboard alone).
    codes = []
    for citizen in w.citizens:
        holder = person(citizen, keyboard=keyboard).go("/vouchers/mine")
        codes.append(CODE.search(holder.page.locator("main").inner_text()).group(0))
        holder.shot("citizen-voucher", holder.page)
        holder.close()
    for code in codes:
        coop.go("/vouchers/desk")
        if keyboard:
            coop.tab_to("code")
            coop.page.keyboard.type(code)
            coop.tab_to("amount", limit=5)
            coop.page.keyboard.type("20")
            # The desk answers with a redirect: wait for it to land before moving on.
            with coop.page.expect_navigation():
                coop.page.keyboard.press("Enter")
            coop.page.wait_for_load_state()
            assert coop.page.locator("main .error").count() == 0
        else:
            coop.submit({"code": code, "amount": "20", "category": "elder-care"}, has="code")
    coop.shot("redeemed", coop.page)

    # 7. Settlement, once the day has passed: time moves on a day for the redemptions
    # (settlement clears only periods that have ended).
    from vouchers.models import Redemption
    db.session.rollback()
    for model in (Redemption,):
        for row in db.session.scalars(select(model)):
            row.at -= timedelta(days=1)
    db.session.commit()
    office.go("/vouchers/settlements").submit({"period_start": days(-1), "period_end": days(-1)},
                                              has="period_end", shot="settlement")
    statement = coop.go("/vouchers/statements").page.locator("main").inner_text()
    assert "40" in statement
    coop.shot("statement", coop.page)
    coop.close()
    office.close()

    # 8. Anyone sees the chain on the public pages and in the open data.
    public = browser.new_context(locale={"en": "en-GB", "ca": "ca-ES"}[language])
    page = public.new_page()
    page.goto(live_server + f"/procurement/{process_id}")
    main = page.locator("main")
    expect(main).to_contain_text("La Tela")
    expect(main).to_contain_text("(Harbour Council)")  # the council's priority need it answers
    screenshot("public-tender", page)
    page.goto(live_server + "/organisations/accredited")
    expect(page.locator("main")).to_contain_text("La Tela")
    screenshot("public-accredited", page)
    page.goto(live_server + "/open-data/")
    screenshot("open-data", page)
    datasets = {a.get_attribute("href") for a in page.locator("main a[href^='/open-data/']").all()}
    dumped = {href: page.request.get(live_server + href).text() for href in datasets
              if href.endswith(".json")}
    everything = "\n".join(dumped.values())
    assert "Home care for people over 80 comes first" in everything      # council's need
    ocds = next(d for d in map(json.loads, dumped.values()) if "releases" in d)  # the release package
    # Every release is kept: the award is in the latest of the tender's.
    release = [r for r in ocds["releases"] if r["tender"]["title"] == "Home care for people over 80"][-1]
    assert release["awards"][0]["suppliers"][0]["name"] == "La Tela"
    assert "la-tela" in everything and "elder-care" in everything      # accreditation, vouchers
    public.close()
