"""Bulk issuance in one pass: bad rows reported by line with nothing written, all or nothing,
new holders, a code that is already taken, and memory that does not grow with the file."""
import csv
import gc
import tracemalloc
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.errors import Invalid
from app.extensions import db
from vouchers import codes, holders, issuance, ledger, redemption, staging
from vouchers.models import Account, Transfer, Voucher

from ..conftest import login


def _file(tmp_path, rows, name="run.csv"):
    path = tmp_path / name
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(issuance.BATCH_HEADER)
        writer.writerows(rows)
    return path


def _counts():
    return tuple(db.session.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in (User, Account, Voucher, Transfer))


@pytest.fixture
def small_rounds(monkeypatch):
    """Batches and rounds of a few rows, so a small file crosses many of them."""
    monkeypatch.setattr(staging, "STAGE_ROWS", 7)
    monkeypatch.setattr(staging, "ISSUE_ROWS", 20)


def test_bad_rows_late_in_the_file_are_all_reported_and_nothing_is_written(city, tmp_path, small_rounds):
    until = (city.today + timedelta(days=30)).isoformat()
    rows = [[f"holder{n}@example.org", "100", until] for n in range(60)]
    rows[45] = ["nobody", "100", until]
    rows[58] = ["late@example.org", "100", "2020-01-01"]
    before = _counts()
    with open(_file(tmp_path, rows)) as lines:
        with pytest.raises(issuance.BatchRefused) as refused:
            issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    check = refused.value.check
    assert [p.line for p in check.problems] == [47, 60]
    assert "“nobody” is not an email address" in check.problems[0].reason
    assert (check.rows, check.good, check.bad) == (60, 58, 2)
    db.session.rollback()
    assert _counts() == before  # no holder, account, voucher or transfer half-written
    assert ledger.balance(city.programme.account) == 1_000_000


def test_skipping_bad_rows_issues_the_good_ones_across_rounds(city, tmp_path, small_rounds):
    until = (city.today + timedelta(days=30)).isoformat()
    rows = [[f"Holder{n % 25}@Example.org", str(100 + n), until if n % 2 else ""] for n in range(50)]
    rows.insert(10, ["bad", "1", until])
    rows.insert(30, [city.citizen.email, "5000", until])
    out = tmp_path / "codes.csv"
    seen = []
    with open(_file(tmp_path, rows)) as lines, open(out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["holder_email", "code", "amount_cents"])
        result = issuance.issue_batch(lines, city.programme, actor=city.official, skip_bad_rows=True,
                                      unknown_holders="invite",
                                      codes_out=writer,
                                      progress=lambda phase, n, length: seen.append((phase, n, length)))
    total = sum(100 + n for n in range(50)) + 5000
    assert (result.issued, result.total_cents, result.new_holders) == (51, total, 25)
    assert [p.line for p in result.check.problems] == [12]
    assert sum(n for phase, n, _ in seen if phase == "check") == 52
    assert sum(n for phase, n, _ in seen if phase == "issue") == 51
    assert {length for p, _, length in seen if p == "issue"} == {51}
    written = list(csv.reader(open(out)))[1:]
    good = [r for r in rows if r[0] != "bad"]
    assert [(w[0], w[2]) for w in written] == [(r[0].lower(), r[1]) for r in good]  # the file's order
    vouchers = {v.code: v for v in db.session.execute(select(Voucher)).scalars()}
    for email, code, amount in written:
        voucher = vouchers[code]
        assert voucher.holder.email == email and voucher.value_cents == int(amount)
        assert voucher.account.balance == int(amount) and voucher.account.key is None
        assert voucher.account.user_id is None  # the voucher names its holder
    newcomer = db.session.execute(select(User).where(User.email == "holder7@example.org")).scalar_one()
    assert newcomer.password_hash is None and newcomer.has_role("citizen") and newcomer.name == "holder7"
    assert [v.value_cents for v in holders.holder_vouchers(newcomer)] == [132, 107]
    assert ledger.balance(city.programme.account) == 1_000_000 - total
    # One compound entry for the whole batch: its lines are the vouchers.
    entry = db.session.get(Transfer, vouchers[written[0][1]].issue_transfer_id)
    assert (entry.kind, entry.credit_account_id, entry.amount) == ("issue", None, total)
    assert {v.issue_transfer_id for v in vouchers.values()} == {entry.id}
    assert ledger.verify().ok


def test_beyond_the_budget_nothing_is_written(city, tmp_path, small_rounds):
    rows = [[f"h{n}@example.org", "30000", ""] for n in range(40)]  # 1,200,000 > 1,000,000
    before = _counts()
    with open(_file(tmp_path, rows)) as lines, pytest.raises(Invalid) as refused:
        issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    assert "left to issue" in str(refused.value)
    db.session.rollback()
    assert _counts() == before


def test_a_new_code_already_taken_is_drawn_again(city, tmp_path, monkeypatch, small_rounds):
    taken = issuance.issue_voucher(city.programme, city.citizen, 1000, actor=city.official).code
    real = codes.new_codes
    calls = []

    def first_one_taken(count):
        calls.append(count)
        fresh = real(count)
        if len(calls) == 1:
            yield taken
            next(fresh)
        yield from fresh
    monkeypatch.setattr(codes, "new_codes", first_one_taken)
    with open(_file(tmp_path, [[f"c{n}@example.org", "100", ""] for n in range(5)])) as lines:
        result = issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    assert result.issued == 5
    issued = db.session.execute(select(Voucher.code)).scalars().all()
    assert len(issued) == len(set(issued)) == 6 and issued.count(taken) == 1
    assert ledger.verify().ok


def _peak_bytes(city, tmp_path, rows: int) -> int:
    path = _file(tmp_path, [[f"m{rows}-{n}@example.org", "1", ""] for n in range(rows)], name=f"{rows}.csv")
    gc.collect()
    tracemalloc.start()
    try:
        with open(path) as lines, open(tmp_path / f"{rows}.codes.csv", "w", newline="") as out:
            result = issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite",
                                           codes_out=csv.writer(out),
                                          progress=lambda *args: None)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.issued == rows
    return peak


def test_memory_does_not_grow_with_the_file(city, tmp_path, monkeypatch):
    """Python's peak allocation while issuing 3N rows is that of N rows: the file is streamed,
    staged and issued in bounded batches, and the codes file written page by page."""
    monkeypatch.setattr(staging, "STAGE_ROWS", 200)
    monkeypatch.setattr(staging, "ISSUE_ROWS", 400)
    _peak_bytes(city, tmp_path, 500)  # warm-up: imports, statement caches
    small = _peak_bytes(city, tmp_path, 1500)
    large = _peak_bytes(city, tmp_path, 4500)
    # Keeping anything per row (a code, an email) for 3,000 more rows would add well over 200 kB.
    assert large < small * 1.2 + 100_000, (small, large)


def test_a_batch_is_one_entry_its_vouchers_show_their_own_line_and_it_cannot_be_reversed(city, tmp_path):
    rows = [[city.citizen.email, "1200", ""], ["new@example.org", "800", ""]]
    with open(_file(tmp_path, rows)) as lines:
        issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    db.session.commit()
    mine = holders.holder_vouchers(city.citizen)[0]
    entry = db.session.get(Transfer, mine.issue_transfer_id)
    assert (entry.amount, entry.credit_account_id, entry.batch_issue) == (2000, None, True)
    # The holder's movements show their voucher's line of the entry: its value, into its account.
    accounts = holders.holder_accounts(city.citizen)
    assert mine.account_id in {a.id for a in accounts}
    page = ledger.movements([a.id for a in accounts])
    assert [(m.id, m.kind, m.amount, m.credit_account_id, m.reference, m.batch_line) for m in page.items] == [
        (entry.id, "issue", 1200, mine.account_id, f"voucher {mine.code}", True)]
    # After a redemption both lines are there, newest first.
    redemption.redeem(mine.code, 200, "elder-care", city.coop, actor=city.member)
    assert [(m.kind, m.amount, m.batch_line) for m in ledger.movements([mine.account_id]).items] == [
        ("redeem", 200, False), ("issue", 1200, True)]
    with pytest.raises(ledger.NotReversible) as refused:
        ledger.reverse(entry.id, actor=city.official, reason="wrong file")
    assert refused.value.code == "batch_issue"
    assert ledger.verify().ok


def test_verify_catches_a_voucher_outside_its_batch(city, tmp_path):
    rows = [[f"h{n}@example.org", "500", ""] for n in range(3)]
    with open(_file(tmp_path, rows)) as lines:
        issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    db.session.commit()
    assert ledger.verify().ok
    voucher = db.session.execute(select(Voucher).order_by(Voucher.id)).scalars().first()
    # A voucher's value raised behind the ledger's back: its batch no longer adds up.
    db.session.execute(update(Voucher).where(Voucher.id == voucher.id).values(value_cents=900))
    db.session.execute(update(Account).where(Account.id == voucher.account_id).values(balance=900))
    db.session.commit()
    problems = ledger.verify().problems
    assert any("do not add up" in p for p in problems)
    assert any("balances sum to" in p for p in problems)
    # A voucher with no issue entry at all.
    db.session.execute(update(Voucher).where(Voucher.id == voucher.id).values(issue_transfer_id=None))
    db.session.commit()
    assert any(f"voucher {voucher.code}: no issue entry" in p for p in ledger.verify().problems)


def test_a_batch_vouchers_page_links_its_entry_without_offering_to_reverse_it(app, city, tmp_path):
    with open(_file(tmp_path, [[city.citizen.email, "1200", ""]])) as lines:
        issuance.issue_batch(lines, city.programme, actor=city.official, unknown_holders="invite")
    db.session.commit()
    voucher = holders.holder_vouchers(city.citizen)[0]
    official = app.test_client()
    login(official, city.official.email)
    page = official.get(f"/vouchers/accounts/{voucher.account_id}").get_data(as_text=True)
    entry = voucher.issue_transfer_id
    assert f'href="/vouchers/transfers/{entry}"' in page and f"Transfer #{entry}" in page
    assert f"Reverse transfer #{entry}" not in page
    detail = official.get(f"/vouchers/transfers/{entry}").get_data(as_text=True)
    assert "The vouchers of this batch" in detail and "cannot be reversed as a whole" in detail
