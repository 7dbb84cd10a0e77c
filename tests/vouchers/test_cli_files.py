"""`flask vouchers issue-batch` and `programme create` from a terminal: the files they read and
write, and the reasons they give when they refuse."""
import csv
from datetime import timedelta

import pytest

from app.extensions import db
from tests.conftest import login, post_form
from vouchers import ledger
from vouchers.models import MAX_CENTS, Programme, Voucher


@pytest.fixture
def folder(tmp_path):
    """A directory of the user's own (the app keeps its instance folder in tmp_path)."""
    path = tmp_path / "files"
    path.mkdir()
    return path


def _batch(folder, rows, name="batch.csv"):
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["holder_email", "amount_cents", "valid_until"])
        writer.writerows(rows)
    return path


def _issue(app, path, *options):
    return app.test_cli_runner().invoke(args=["vouchers", "issue-batch", str(path), "--programme",
                                              "home-care-2027", "--unknown-holders", "invite", *options])


def test_a_refused_batch_leaves_the_previous_codes_file_as_it_was(app, city, folder):
    out = folder / "codes.csv"
    first = _issue(app, _batch(folder, [["a@example.org", "1000", ""]]), "--out", str(out))
    assert first.exit_code == 0, first.output
    previous = out.read_bytes()
    assert b"a@example.org" in previous

    refused = _issue(app, _batch(folder, [["b@example.org", "1000", ""], ["not-an-email", "1", ""]],
                                 name="bad.csv"), "--out", str(out))
    assert refused.exit_code == 1 and "nothing was issued" in refused.output
    assert out.read_bytes() == previous
    assert sorted(p.name for p in folder.iterdir()) == ["bad.csv", "batch.csv", "codes.csv"]  # no leftovers
    assert db.session.query(Voucher).count() == 1


def test_a_batch_refused_for_its_total_writes_no_codes_file(app, city, folder):
    out = folder / "codes.csv"
    result = _issue(app, _batch(folder, [["a@example.org", "999999", ""], ["b@example.org", "999999", ""]]),
                    "--out", str(out))
    assert result.exit_code == 1 and "left to issue" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["batch.csv"]


def test_codes_file_in_a_missing_directory_is_refused_before_issuing(app, city, folder):
    out = folder / "nowhere" / "codes.csv"
    result = _issue(app, _batch(folder, [["a@example.org", "1000", ""]]), "--out", str(out))
    assert result.exit_code == 1
    assert f"cannot write {out}: no such directory" in result.output
    assert "Traceback" not in result.output and result.exc_info[0] is SystemExit
    assert db.session.query(Voucher).count() == 0
    assert ledger.balance(city.programme.account) == 1_000_000


def test_a_file_that_is_not_utf8_is_refused_and_nothing_is_issued(app, city, folder):
    path = folder / "latin1.csv"
    path.write_bytes("holder_email,amount_cents,valid_until\r\n".encode()
                     + "a@example.org,1000,\r\nmaría@example.org,1000,\r\n".encode("latin-1"))
    out = folder / "codes.csv"
    out.write_text("holder_email,code,amount_cents\r\nold@example.org,OLDCODE,100\r\n")
    result = _issue(app, path, "--out", str(out))
    assert result.exit_code == 1 and result.exc_info[0] is SystemExit
    assert f"{path} is not UTF-8 text" in result.output
    assert db.session.query(Voucher).count() == 0
    assert "OLDCODE" in out.read_text()


def test_a_utf8_file_with_a_byte_order_mark_is_issued(app, city, folder):
    path = folder / "bom.csv"
    path.write_bytes("holder_email,amount_cents,valid_until\r\nmaría@example.org,1000,\r\n".encode("utf-8-sig"))
    result = _issue(app, path)
    assert result.exit_code == 0, result.output
    assert "Issued 1 vouchers" in result.output


def _create(app, budget):
    return app.test_cli_runner().invoke(args=[
        "vouchers", "programme", "create", "p2", "--name", "P2", "--budget", str(budget),
        "--category", "childcare", "--valid-until", "2099-12-31"])


def test_a_budget_too_large_is_refused_for_being_too_large(app, city):
    result = _create(app, MAX_CENTS + 1)
    assert result.exit_code == 1
    assert "The budget must be above zero and at most €10,000,000,000.00." in result.output
    assert _create(app, MAX_CENTS).exit_code == 0
    assert db.session.query(Programme).count() == 2


def test_the_programme_form_gives_the_same_reason(app, city):
    official = app.test_client()
    login(official, city.official.email)
    response = post_form(official, "/vouchers/programmes", {
        "slug": "p2", "name": "P2", "budget": "10000000000.01", "categories": ["childcare"],
        "valid_until": (city.today + timedelta(days=90)).isoformat()})
    assert response.status_code == 422
    assert "The budget must be above zero and at most €10,000,000,000.00." in response.get_data(as_text=True)
