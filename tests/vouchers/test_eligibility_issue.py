"""Issuing to verified residents in bulk (#23): set-based, a chunk of people per transaction, once
per person per programme (a second run, or a resident verifying at the same moment, never gives
anyone a second voucher), within the budget in the list's order and the holder cap, the ledger in
balance, and no raw identifier anywhere."""
import gc
import io
import threading
import tracemalloc
from datetime import date

import pytest
from sqlalchemy import func, inspect, select, text

from app.accounts.models import User
from app.errors import Invalid
from app.extensions import db
from tests.conftest import at_once, login, post_form, statements_run
from vouchers import eligibility, figures, ledger, programme_rules
from vouchers.eligibility_models import EligibilityGrant, ResidentVerification
from vouchers.models import Account, Programme, Voucher


def _identifier(n: int) -> str:
    return f"R{n:08d}"


def _load(city, people: int, income: int = 100, extra: str = ""):
    lines = [",".join(eligibility.HEADER)]
    lines += [f"{_identifier(n)},1950-01-01,{income},,,it" for n in range(people)]
    check = eligibility.load_list(io.StringIO("\n".join(lines) + extra + "\n"), city.programme, actor=city.official)
    assert check.eligible == people + (1 if extra else 0)


def _verify(people: range) -> list[int]:
    """Residents verified before the list's vouchers were issued (accounts made by the office)."""
    users = [User(email=f"resident{n}@example.org", name=f"Resident {n}") for n in people]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(ResidentVerification(user_id=u.id, identity_hash=eligibility.identity_hash(_identifier(n)))
                       for u, n in zip(users, people))
    db.session.commit()
    return [u.id for u in users]


def _vouchers():
    return db.session.execute(select(Voucher.holder_id, Voucher.value_cents).order_by(Voucher.holder_id)).all()


@pytest.fixture
def flat(city):
    city.programme.scale = [[None, 1_000]]   # 10.00 for everyone: the budget of 10,000.00 covers 1,000 people
    db.session.commit()
    return city


def test_every_verified_resident_gets_one_voucher_in_chunks(flat):
    _load(flat, 30)
    holders = _verify(range(25))    # five on the list have not verified
    assert eligibility.issue_to_verified(flat.programme, actor=flat.official, chunk=7) == 25
    assert _vouchers() == [(h, 1_000) for h in holders]
    grants = db.session.execute(select(EligibilityGrant.voucher_id)).scalars().all()
    assert len(grants) == 25 and None not in grants
    assert eligibility.issue_to_verified(flat.programme, actor=flat.official, chunk=7) == 0
    db.session.expire_all()
    assert db.session.get(Account, flat.programme.account_id).balance == 1_000_000 - 25 * 1_000
    assert ledger.verify().ok and figures.differences() == []
    # The five who verify later get theirs, once.
    _verify(range(25, 30))
    assert eligibility.issue_to_verified(flat.programme, actor=flat.official) == 5
    assert len(_vouchers()) == 30


def test_the_statements_do_not_grow_with_the_people(flat):
    _load(flat, 60)
    _verify(range(10))
    with statements_run() as few:
        assert eligibility.issue_to_verified(flat.programme, actor=flat.official) == 10
    _verify(range(10, 60))
    with statements_run() as many:
        assert eligibility.issue_to_verified(flat.programme, actor=flat.official) == 50
    assert len(many) == len(few) < 40


def test_the_budget_covers_the_first_people_on_the_list_and_refuses_the_rest(city):
    city.programme.scale = [[None, 300_000]]    # 3,000.00 each: the budget covers three
    db.session.commit()
    _load(city, 5)
    holders = _verify(range(5))
    with pytest.raises(Invalid) as refused:
        eligibility.issue_to_verified(city.programme, actor=city.official, chunk=2)
    assert refused.value.code == "budget_exhausted" and "3" in str(refused.value)
    assert [h for h, _ in _vouchers()] == holders[:3]
    assert db.session.execute(select(func.count()).select_from(EligibilityGrant)).scalar_one() == 3
    assert ledger.verify().ok and figures.differences() == []


def test_a_chunk_that_passes_the_holder_cap_issues_nothing_and_keeps_earlier_chunks(flat):
    programme_rules.set_rules(flat.programme, actor=flat.official, refund_window_days=14,
                              max_open_cents_per_holder=1_500)
    _load(flat, 4)
    holders = _verify(range(4))
    # The third person already holds 10.00 of this programme: 10.00 more would pass the cap of 15.00.
    from vouchers import issuance
    issuance.issue_voucher(flat.programme, db.session.get(User, holders[2]), 1_000, actor=flat.official)
    with pytest.raises(Invalid) as refused:
        eligibility.issue_to_verified(flat.programme, actor=flat.official, chunk=2)
    assert refused.value.code == issuance.HOLDER_CAP
    assert sorted(h for h, _ in _vouchers()) == sorted([holders[0], holders[1], holders[2]])
    assert ledger.verify().ok


def test_no_table_holds_a_raw_identifier_after_bulk_issuance(flat):
    _load(flat, 5)
    _verify(range(5))
    eligibility.issue_to_verified(flat.programme, actor=flat.official)
    found = []
    for table in inspect(db.engine).get_table_names():
        for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
            found += [table for value in row if any(_identifier(n) in str(value) for n in range(5))]
    assert found == []


def test_two_bulk_issuances_and_a_resident_verifying_at_once_give_each_person_one_voucher(flat, app, backend):
    _load(flat, 40)
    _verify(range(39))
    last = User(email="late@example.org", name="Late resident")
    db.session.add(last)
    db.session.commit()
    programme_id, last_id = flat.programme.id, last.id
    outcomes = []

    def worker(i):
        with app.app_context():
            try:
                if i < 2:
                    outcomes.append(eligibility.issue_to_verified(db.session.get(Programme, programme_id), actor=None,
                                                                  chunk=10))
                else:
                    outcomes.append(len(eligibility.verify_resident(db.session.get(User, last_id), _identifier(39),
                                                                    date(1950, 1, 1))))
            finally:
                db.session.remove()

    at_once(3, worker)
    db.session.rollback()
    assert sum(outcomes) == 40, outcomes
    holders = [h for h, _ in _vouchers()]
    assert len(holders) == len(set(holders)) == 40
    assert ledger.verify().ok


def test_the_page_and_the_cli_issue_to_verified_residents(flat, app, client):
    _load(flat, 3)
    _verify(range(2))
    login(client, flat.official.email)
    done = post_form(client, "/vouchers/programmes/home-care-2027/eligibility/issue", follow_redirects=True)
    assert "2 vouchers issued to verified residents." in done.get_data(as_text=True)
    _verify(range(2, 3))
    result = app.test_cli_runner().invoke(args=["vouchers", "eligibility", "issue", "--programme", "home-care-2027"])
    assert result.exit_code == 0 and "Issued 1 vouchers" in result.output
    assert len(_vouchers()) == 3


def test_bulk_runs_and_one_by_one_grants_racing_for_the_same_people_give_each_one_voucher(flat, app, backend):
    _load(flat, 20)
    holders = _verify(range(20))
    programme_id = flat.programme.id
    matches = [eligibility.identity_hash(_identifier(n)) for n in range(20)]
    issued, start = [], threading.Barrier(4)

    def worker(i):
        with app.app_context():
            try:
                programme = db.session.get(Programme, programme_id)
                start.wait()
                if i < 2:
                    issued.append(eligibility.issue_to_verified(programme, actor=None, chunk=5))
                    return
                order = list(zip(holders, matches))
                for holder, match in (order if i == 2 else reversed(order)):
                    voucher = eligibility.grant(programme, db.session.get(User, holder), match, actor=None)
                    issued.append(0 if voucher is None else 1)
            finally:
                db.session.remove()

    at_once(4, worker)
    db.session.rollback()
    assert sum(issued) == 20, issued
    assert sorted(h for h, _ in _vouchers()) == sorted(holders)
    assert ledger.verify().ok and figures.differences() == []


def test_a_long_list_is_applied_in_bounded_memory(flat):
    """Memory follows the chunk, not the list: four times the people, well under twice the peak.
    Only the run is measured: the test's own rows (thousands of users and verifications it has just
    written) leave the session first, or the session's map of them, resized during the run, would
    count; and a first small run pays what any first run pays once (compiled statements, caches)."""
    flat.programme.scale = [[None, 100]]   # 1.00 each: the budget covers everyone
    db.session.commit()
    _load(flat, 2_100)
    programme_id, official_id = flat.programme.id, flat.official.id

    def peak(people: range) -> int:
        _verify(people)
        db.session.expunge_all()
        programme, official = db.session.get(Programme, programme_id), db.session.get(User, official_id)
        gc.collect()
        tracemalloc.start()
        assert eligibility.issue_to_verified(programme, actor=official, chunk=100) == len(people)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    peak(range(100))
    small, large = peak(range(100, 500)), peak(range(500, 2_100))
    assert large < small * 1.5, (small, large)
