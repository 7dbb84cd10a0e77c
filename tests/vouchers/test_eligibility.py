"""Eligibility lists and verified residents (#23): the CLI's report, hashes only in the database,
verification by identifier and date of birth (throttled, one account per person), and one voucher
per person per programme at the amount the scale gives."""
import csv
import gc
import tracemalloc
from datetime import date

import pytest
from sqlalchemy import func, inspect, select, text

from app.errors import Invalid
from app.extensions import db
from tests.conftest import login, post_form
from vouchers import eligibility
from vouchers.eligibility_models import EligibilityEntry, EligibilityGrant, ResidentVerification
from vouchers.models import Voucher

ROWS = [
    ["X1234567A", "1950-03-01", "1000000", "", "Via Roma 1, Villanova", "it"],
    ["Y7654321B", "1948-11-30", "2500000", "ana@example.org", "", "es"],
    ["bad", "1950-01-01", "100", "", "", "en"],                      # identifier too short
    ["Z1111111C", "1950-02-30", "100", "", "", "en"],                # no such day
    ["W2222222D", "1960-01-01", "9000000", "", "", "ca"],            # above the scale
    ["x-1234567-a", "1950-03-01", "1000000", "", "", "it"],          # line 2's identifier again
]


@pytest.fixture
def scaled(city):
    city.programme.scale = [[1_500_000, 20_000], [3_000_000, 12_000]]
    db.session.commit()
    return city


def _list(tmp_path, rows, name="list.csv"):
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(eligibility.HEADER)
        writer.writerows(rows)
    return path


def _load(app, path, *options):
    return app.test_cli_runner().invoke(args=["vouchers", "eligibility", "load", str(path), "--programme",
                                              "home-care-2027", *options])


def _entries():
    return db.session.execute(select(func.count()).select_from(EligibilityEntry)).scalar_one()


def test_the_cli_reports_each_refused_row_and_a_dry_run_keeps_nothing(app, scaled, tmp_path):
    path = _list(tmp_path, ROWS)
    dry = _load(app, path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    lines = dry.output.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["line 4", "line 5", "line 6", "line 7"]
    assert "line 2" in lines[3]
    assert lines[-1] == "checked 6, eligible 2, refused 4"
    assert _entries() == 0
    done = _load(app, path)
    assert done.exit_code == 0 and done.output.strip().splitlines()[-1] == "checked 6, eligible 2, refused 4"
    amounts = db.session.execute(select(EligibilityEntry.amount_cents).order_by(EligibilityEntry.line)).scalars()
    assert list(amounts) == [20_000, 12_000]
    # A new list replaces the one before.
    _load(app, _list(tmp_path, ROWS[:1], "second.csv"))
    assert _entries() == 1


def test_a_wrong_header_is_refused(app, scaled, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("id,born\nX1,1950-01-01\n")
    result = _load(app, path)
    assert result.exit_code != 0 and "identifier,birth_date,income_cents" in result.output


def test_no_table_holds_a_raw_identifier(app, scaled, tmp_path):
    _load(app, _list(tmp_path, ROWS))
    eligibility.verify_resident(scaled.citizen, "X1234567A", date(1950, 3, 1))
    found = []
    for table in inspect(db.engine).get_table_names():
        columns = [c["name"] for c in inspect(db.engine).get_columns(table)]
        for row in db.session.execute(text(f'SELECT * FROM "{table}"')):
            for column, value in zip(columns, row):
                for raw in ("X1234567A", "Y7654321B", "1234567"):
                    if raw.lower() in str(value).lower():
                        found.append((table, column))
    assert found == []


def test_a_resident_verifies_once_and_gets_the_programmes_voucher_once(app, scaled, tmp_path, make_user):
    _load(app, _list(tmp_path, ROWS))
    with pytest.raises(Invalid):
        eligibility.verify_resident(scaled.citizen, "X1234567A", date(1950, 3, 2))
    issued = eligibility.verify_resident(scaled.citizen, "x 1234567 a", date(1950, 3, 1))
    assert [(v.holder_id, v.value_cents) for v in issued] == [(scaled.citizen.id, 20_000)]
    stored = db.session.execute(select(ResidentVerification)).scalar_one()
    assert stored.identity_hash == eligibility.identity_hash("X1234567A")
    # The same person on another account is refused; the same person is never granted twice.
    with pytest.raises(Invalid, match="another account"):
        eligibility.verify_resident(make_user(), "X1234567A", date(1950, 3, 1))
    assert eligibility.grant(scaled.programme, scaled.citizen, stored.identity_hash, actor=scaled.official) is None
    assert eligibility.issue_to_verified(scaled.programme, actor=scaled.official) == 0
    assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(EligibilityGrant)).scalar_one() == 1


def test_the_grant_is_unique_in_the_database(app, scaled, tmp_path):
    _load(app, _list(tmp_path, ROWS))
    eligibility.verify_resident(scaled.citizen, "X1234567A", date(1950, 3, 1))
    match = eligibility.identity_hash("X1234567A")
    db.session.add(EligibilityGrant(programme_id=scaled.programme.id, identity_hash=match))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_verification_is_throttled(app, scaled, tmp_path):
    _load(app, _list(tmp_path, ROWS))
    for _ in range(eligibility.VERIFY_ATTEMPTS):
        with pytest.raises(Invalid, match="not on any"):
            eligibility.verify_resident(scaled.citizen, "X1234567A", date(1951, 1, 1))
    with pytest.raises(Invalid, match="Too many"):
        eligibility.verify_resident(scaled.citizen, "X1234567A", date(1950, 3, 1))
    assert eligibility.verification_of(scaled.citizen) is None


def test_residents_verified_before_the_list_get_theirs_when_the_official_issues(app, scaled, tmp_path):
    _load(app, _list(tmp_path, ROWS[:1]))
    eligibility.verify_resident(scaled.citizen, "X1234567A", date(1950, 3, 1))
    voucher = db.session.execute(select(Voucher)).scalar_one()
    db.session.delete(db.session.execute(select(EligibilityGrant)).scalar_one())
    db.session.commit()
    # The same person again: a new grant issues a second voucher only because the first grant was removed.
    assert eligibility.issue_to_verified(scaled.programme, actor=scaled.official) == 1
    assert eligibility.issue_to_verified(scaled.programme, actor=scaled.official) == 0
    assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == 2
    assert voucher.value_cents == 20_000


def test_the_pages_load_a_list_and_verify_a_resident(app, scaled, client, tmp_path):
    login(client, scaled.official.email)
    page = client.get("/vouchers/programmes/home-care-2027/eligibility")
    assert page.status_code == 200
    with open(_list(tmp_path, ROWS), "rb") as handle:
        preview = post_form(client, "/vouchers/programmes/home-care-2027/eligibility",
                            {"file": (handle, "list.csv"), "dry_run": "y"}, content_type="multipart/form-data")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Line" in body and _entries() == 0
    with open(_list(tmp_path, ROWS), "rb") as handle:
        loaded = post_form(client, "/vouchers/programmes/home-care-2027/eligibility",
                           {"file": (handle, "list.csv")}, content_type="multipart/form-data")
    assert loaded.status_code == 200 and _entries() == 2
    client.get("/account/logout")
    login(client, scaled.citizen.email)
    assert client.get("/vouchers/verify").status_code == 200
    wrong = post_form(client, "/vouchers/verify", {"identifier": "X1234567A", "birth_date": "1950-03-02"})
    assert wrong.status_code == 422 and "not on any" in wrong.get_data(as_text=True)
    right = post_form(client, "/vouchers/verify", {"identifier": "X1234567A", "birth_date": "1950-03-01"})
    assert right.status_code == 302
    assert db.session.execute(select(Voucher.holder_id)).scalar_one() == scaled.citizen.id


def test_a_long_list_is_checked_in_bounded_memory(app, scaled, tmp_path, monkeypatch):
    monkeypatch.setattr(eligibility, "STAGE_ROWS", 500)

    def peak(rows):
        path = _list(tmp_path, ([f"P{n:08d}", "1950-01-01", "1000", "", "", "en"] for n in range(rows)),
                     f"{rows}.csv")
        gc.collect()
        tracemalloc.start()
        with open(path, newline="") as lines:
            check = eligibility.load_list(lines, scaled.programme, actor=scaled.official)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert check.eligible == rows
        return used
    small, large = peak(2_000), peak(8_000)
    assert large < small * 1.5, (small, large)
