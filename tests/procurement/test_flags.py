"""Red flags: each rule finds its case and passes over a clean process; the flags are stored
after every change and by the nightly command, shown on the process page and at
/procurement/flags, and published as open data, for a visitor."""
from datetime import date, datetime, timedelta, timezone

from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as orgs
from procurement import contracts, flags, tenders
from procurement.flags import Standing, closed_early, in_force_on, lapse_between
from procurement.models import Payment, Phase, RedFlag
from procurement.releases import AmendmentNote, publish_release

from ..conftest import statements_run
from .conftest import DECLARED


def _found(code, today=None):
    return dict(flags.RULES[code].find(today or city_today(), None))


def _stored(process):
    return {f.code: f for f in db.session.query(RedFlag).filter_by(process_id=process.id)}


def _accredit(city, org, valid_from=None, valid_until=None, ratio="3"):
    today = city_today()
    return orgs.accredit(org, city.category, valid_until or today + timedelta(days=730),
                         valid_from=valid_from or today - timedelta(days=365), met_all=True, wage_ratio=ratio)


# The accreditation on a day, as small pure functions -------------------------------------------

def test_an_accreditation_is_in_force_within_its_validity_unless_suspended_then():
    may, june, july = date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)
    plain = Standing(date(2026, 1, 1), date(2026, 12, 31), "active", ((date(2026, 1, 1), "granted"),))
    assert in_force_on(plain, june) and not in_force_on(plain, date(2027, 1, 1))
    assert not in_force_on(None, june)
    suspended = Standing(date(2026, 1, 1), date(2026, 12, 31), "active",
                         ((date(2026, 1, 1), "granted"), (june, "suspended"), (july, "reinstated")))
    assert in_force_on(suspended, may) and not in_force_on(suspended, june) and in_force_on(suspended, july)
    assert not in_force_on(Standing(date(2026, 1, 1), date(2026, 12, 31), "revoked"), june)  # no history kept


def test_a_lapse_is_an_expiry_or_a_suspension_while_the_contract_runs():
    held = Standing(date(2026, 1, 1), date(2026, 6, 30), "active")
    assert lapse_between(held, date(2026, 3, 1), date(2026, 9, 1)) == {"expired_on": "2026-06-30"}
    assert lapse_between(held, date(2026, 3, 1), date(2026, 6, 30)) is None
    suspended = Standing(date(2026, 1, 1), date(2027, 6, 30), "suspended", ((date(2026, 4, 2), "suspended"),))
    assert lapse_between(suspended, date(2026, 3, 1), date(2026, 9, 1)) == {"suspended": "2026-04-02"}
    assert lapse_between(suspended, date(2026, 5, 1), date(2026, 9, 1)) is None


def test_bidding_closes_early_before_the_end_of_the_deadline_day_in_the_city():
    deadline = date(2026, 12, 7)
    # 22:30 UTC on 7 December is 23:30 in the city (Europe/Rome): still the deadline day.
    assert closed_early(datetime(2026, 12, 7, 22, 30, tzinfo=timezone.utc), deadline)
    assert not closed_early(datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc), deadline)


# Each rule against its case and a clean process ------------------------------------------------

def test_a_reserved_tender_awarded_to_an_organisation_not_accredited_on_the_award_date(city):
    process = city.process("award", procedure="reserved")
    assert _found("reserved-award-unaccredited")[process.id] == {
        "supplier": "La Tela", "category": "elder-care", "award_date": city_today().isoformat()}
    _accredit(city, city.coop)
    assert process.id not in _found("reserved-award-unaccredited")
    open_process = city.process("award", title="Open tender")
    orgs.suspend(orgs.accreditations_in_force(category_slug="elder-care")[0], "Inspection", actor=city.admin)
    assert open_process.id not in _found("reserved-award-unaccredited")  # an open tender needs none


def test_an_accreditation_suspended_during_the_contract(city):
    accreditation = _accredit(city, city.coop)
    process = city.process("contract")
    assert process.id not in _found("accreditation-lapsed")
    orgs.suspend(accreditation, "Inspection found unpaid wages", actor=city.admin)
    facts = _found("accreditation-lapsed")[process.id]
    assert facts["suspended"] == city_today().isoformat() and facts["supplier"] == "La Tela"


def test_an_accreditation_expired_during_the_contract(city):
    today = city_today()
    _accredit(city, city.coop, valid_until=today + timedelta(days=5))
    process = city.process("contract")
    assert process.id not in _found("accreditation-lapsed")
    later = today + timedelta(days=20)
    assert _found("accreditation-lapsed", later)[process.id]["expired_on"] == (today + timedelta(days=5)).isoformat()


def test_a_single_bid_on_a_reserved_tender_once_bidding_closed(city):
    single = city.process("bids", procedure="reserved", bidders=[city.coop], title="Single")
    two = city.process("bids", procedure="reserved", title="Two bids")
    open_single = city.process("bids", bidders=[city.coop], title="Open, single")
    still_open = city.process("tender", procedure="reserved", title="Still open")
    tenders.submit_bid(still_open, city.coop, 1_000_000, actor=city.coop_member, declarations=DECLARED)
    found = _found("reserved-single-bid")
    assert found[single.id]["bids"] == 1
    assert not {two.id, open_single.id, still_open.id} & set(found)


def test_a_contract_worth_more_than_its_award_or_budget(city):
    process = city.process("contract")
    assert process.id not in _found("contract-above-award")
    process.contract.value_cents = process.award.value_cents + 1
    db.session.commit()
    assert _found("contract-above-award")[process.id] == {
        "contract_value_cents": process.award.value_cents + 1, "award_value_cents": process.award.value_cents,
        "budget_cents": process.budget_cents}


def test_payments_above_the_contract_value(city):
    process = city.process("contract")
    contracts.record_payment(process, process.contract.value_cents, city_today(), actor=city.official)
    assert process.id not in _found("payments-above-contract")  # paid in full: not above
    db.session.add(Payment(contract=process.contract, amount_cents=1, paid_on=city_today()))
    db.session.commit()
    assert _found("payments-above-contract")[process.id]["paid_cents"] == process.contract.value_cents + 1


def test_a_milestone_or_commitment_overdue(city):
    process = city.process("contract")
    today = city_today()
    assert process.id not in _found("overdue", today + timedelta(days=10))  # due that day: not late yet
    late = _found("overdue", today + timedelta(days=91))[process.id]
    assert [m["title"] for m in late["milestones"]] == ["Service starts"]
    assert [c["kind"] for c in late["commitments"]] == ["social_inclusion"]
    contracts.report_milestone(process.contract.milestones[0], "Opened on time.", actor=city.official)
    contracts.assess_commitment(process.contract.commitments[0], "kept", "Payroll checked.", actor=city.official)
    assert process.id not in _found("overdue", today + timedelta(days=91))


def test_a_supplier_above_the_wage_ratio_limit_on_the_award_date(app, city):
    _accredit(city, city.coop, ratio="6")
    process = city.process("award")
    assert process.id not in _found("wage-ratio-above-limit")
    app.config["PROCOMUN_MAX_WAGE_RATIO"] = 5  # the city lowers its limit
    facts = _found("wage-ratio-above-limit")[process.id]
    assert (facts["supplier"], float(facts["wage_ratio"]), facts["limit"]) == ("La Tela", 6.0, 5)


def test_bidding_closed_before_the_deadline(city):
    early = city.process("tender", title="Closed early")
    tenders.submit_bid(early, city.coop, 1_000_000, actor=city.coop_member, declarations=DECLARED)
    # Written directly, as data from before the rule: the operations refuse to close before the deadline.
    early.phase = Phase.BIDS.value
    publish_release(early, ["tenderUpdate"], actor=city.official)
    db.session.commit()
    assert _found("bidding-closed-early")[early.id]["bid_deadline"] == early.bid_deadline.isoformat()
    on_time = city.process("tender", title="Closed on time")
    tenders.submit_bid(on_time, city.coop, 1_000_000, actor=city.coop_member, declarations=DECLARED)
    on_time.bid_deadline = city_today() - timedelta(days=1)  # the deadline has passed
    db.session.commit()
    tenders.close_bidding(on_time, actor=city.official)
    assert on_time.id not in _found("bidding-closed-early")


def test_a_deadline_extended_more_than_once(city):
    process = city.process("tender")
    first = process.bid_deadline
    for days in (7, 14):
        process.bid_deadline = first + timedelta(days=days)
        publish_release(process, ["tenderAmendment"], actor=city.official,
                        amendment=AmendmentNote("More time", f"Bids until {process.bid_deadline}"))
        db.session.commit()
        if days == 7:
            assert process.id not in _found("bidding-closed-early")  # extended once: no flag
    deadlines = _found("bidding-closed-early")[process.id]["deadlines"]
    assert [d[:10] for d in deadlines] == [str(first), str(first + timedelta(days=7)), str(first + timedelta(days=14))]


def test_a_clean_process_raises_no_flag(city):
    _accredit(city, city.coop)
    process = city.process("tender", procedure="reserved")
    tenders.submit_bid(process, city.coop, 10_000_000, actor=city.coop_member, declarations=DECLARED)
    tenders.submit_bid(process, city.coop_b, 10_500_000, actor=city.coop_b_member, declarations=DECLARED)
    process.bid_deadline = city_today() - timedelta(days=1)
    db.session.commit()
    tenders.close_bidding(process, actor=city.official)
    assert flags.refresh() == 0 and not _stored(process)


# Stored on every change, and each night -------------------------------------------------------

def test_flags_are_stored_with_the_change_that_raises_them_and_removed_when_it_is_undone(city):
    process = city.process("award", procedure="reserved", bidders=[city.coop])
    stored = _stored(process)  # no refresh called: the releases of the award raised them
    assert set(stored) == {"reserved-award-unaccredited", "reserved-single-bid"}
    raised = stored["reserved-single-bid"].raised_at
    flags.refresh()
    assert _stored(process)["reserved-single-bid"].raised_at == raised  # when first raised, kept
    _accredit(city, city.coop)
    assert "reserved-award-unaccredited" in _stored(process)  # an accreditation publishes no release…
    flags.refresh()
    assert "reserved-award-unaccredited" not in _stored(process)  # …the nightly run clears it


def test_the_nightly_command_recomputes_every_flag(app, city):
    process = city.process("contract")
    db.session.add(Payment(contract=process.contract, amount_cents=process.contract.value_cents + 1,
                           paid_on=city_today()))
    db.session.commit()
    assert "payments-above-contract" not in _stored(process)
    result = app.test_cli_runner().invoke(args=["procurement", "flags"])
    assert result.exit_code == 0 and "red flags stand" in result.output
    assert "payments-above-contract" in _stored(process)


def test_the_nightly_run_costs_the_same_statements_however_many_processes(city):
    city.process("contract", title="First")
    flags.refresh()
    with statements_run() as seen:
        flags.refresh()
    few = len(seen)
    for n in range(3):
        city.process("contract", title=f"More {n}")
    flags.refresh()
    with statements_run() as seen:
        flags.refresh()
    assert len(seen) == few


# Shown and published, for a visitor -------------------------------------------------------------

def test_a_visitor_sees_the_flags_page_the_process_page_and_the_open_data(app, city):
    process = city.process("award", procedure="reserved", bidders=[city.coop])
    client = app.test_client()
    for locale, words in {"en": "Single bid on a reserved tender", "es": "Oferta única en una licitación reservada",
                          "it": "Offerta unica in una gara riservata",
                          "ca": "Oferta única en una licitació reservada"}.items():
        page = client.get("/procurement/flags", headers={"Accept-Language": locale})
        assert page.status_code == 200 and words in page.get_data(as_text=True), locale
    show = client.get(f"/procurement/{process.id}").get_data(as_text=True)
    assert "Red flags" in show and "Single bid on a reserved tender" in show
    clean = city.process("planning", title="In planning")
    assert "Red flags" not in client.get(f"/procurement/{clean.id}", follow_redirects=True).get_data(as_text=True)
    published = client.get("/open-data/procurement-flags.json")
    assert published.status_code == 200 and published.headers["Access-Control-Allow-Origin"] == "*"
    items = {item["code"]: item for item in published.get_json()["items"]}
    single = items["reserved-single-bid"]
    assert single["ocid"].endswith(process.reference) and single["facts"]["bids"] == 1
    assert datetime.fromisoformat(single["raised"])


def test_the_facts_are_told_in_words_with_nothing_empty(city):
    told = dict(flags.described({"milestones": [{"title": "Service starts", "due_on": "2026-09-29"}],
                                 "commitments": [], "contract_value_cents": 15_000_000}))
    assert told == {"Milestones overdue": "Service starts, due Sep 29, 2026", "Contract value": "€150,000.00"}


def test_the_flags_page_costs_the_same_statements_however_many_flags(app, city):
    city.process("award", procedure="reserved", bidders=[city.coop], title="First")
    client = app.test_client()
    client.get("/procurement/flags")  # warm: first-use queries
    with statements_run() as seen:
        assert client.get("/procurement/flags").status_code == 200
    few = len(seen)
    for n in range(3):
        city.process("award", procedure="reserved", bidders=[city.coop], title=f"More {n}")
    with statements_run() as seen:
        page = client.get("/procurement/flags").get_data(as_text=True)
    assert len(seen) == few and "More 2" in page


def test_a_flag_added_meanwhile_by_another_refresh_does_not_fail_the_change(city):
    process = city.process("bids", procedure="reserved", bidders=[city.coop])
    raised = _stored(process)["reserved-single-bid"].raised_at
    # As if the nightly run had just stored it, uncommitted when this refresh looked.
    flags._add_new([{"process_id": process.id, "code": "reserved-single-bid", "raised_at": raised,
                     "facts": {"bids": 1}}])
    db.session.commit()
    assert _stored(process)["reserved-single-bid"].facts["bids"] == 1
