"""A batch file never opens an account unasked (issue #19): rows whose email no account has are
listed before anything is issued (a dry run too), and the official chooses, per batch, to invite
those people or to leave their rows out."""
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.notifications.worker import drain
from tests.conftest import login, post_form
from vouchers import issuance, ledger
from vouchers.models import Account, Transfer, Voucher

LINK = re.compile(r"http://[^/\s]+/account/reset/([A-Za-z0-9_-]+)")
TYPO = "citizen@example.orgg"


def _counts():
    return tuple(db.session.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in (User, Account, Voucher, Transfer))


def _text(city, *extra):
    until = (city.today + timedelta(days=30)).isoformat()
    rows = ["holder_email,amount_cents,valid_until", f"{city.citizen.email},1000,{until}",
            f"{TYPO},2000,", f"{city.member.email},3000,", "nuova@example.org,4000,", *extra]
    return "\n".join(rows) + "\n"


def _run(city, text, **options):
    return issuance.issue_batch(lambda: io.StringIO(text), city.programme, actor=city.official, **options)


def test_by_default_the_rows_without_an_account_are_listed_and_nothing_is_issued(city):
    before = _counts()
    with pytest.raises(issuance.HoldersWithoutAccount) as refused:
        _run(city, _text(city))
    assert refused.value.code == "unknown_person" and refused.value.field == "unknown_holders"
    check = refused.value.check
    assert check.unknown == 2 and [(r.line, r.reason) for r in check.unknown_rows] == [
        (3, TYPO), (5, "nuova@example.org")]
    db.session.rollback()
    assert _counts() == before and ledger.balance(city.programme.account) == 1_000_000


def test_a_dry_run_lists_bad_rows_and_unknown_emails_and_writes_nothing(city):
    before = _counts()
    result = _run(city, _text(city, "nope,1,"), preview=True)
    assert result.previewed and result.issued == 0
    check = result.check
    assert (check.good, check.bad, check.unknown, check.total_cents) == (4, 1, 2, 10000)
    assert check.available_cents == 1_000_000 and [p.line for p in check.problems] == [6]
    assert [r.reason for r in check.unknown_rows] == [TYPO, "nuova@example.org"]
    assert _counts() == before and _run(city, _text(city), preview=True).previewed


def test_leaving_them_out_issues_the_others_only(city):
    users = db.session.execute(select(func.count()).select_from(User)).scalar_one()
    result = _run(city, _text(city), unknown_holders="leave_out")
    assert (result.issued, result.total_cents, result.left_out, result.new_holders) == (2, 4000, 2, 0)
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == users
    holders = set(db.session.execute(select(Voucher.holder_id)).scalars())
    assert holders == {city.citizen.id, city.member.id}
    assert ledger.balance(city.programme.account) == 1_000_000 - 4000 and ledger.verify().ok


def test_inviting_them_opens_their_accounts_and_sends_each_one_invitation(city, smtp):
    result = _run(city, _text(city), unknown_holders="invite", locale="es")
    assert (result.issued, result.total_cents, result.new_holders) == (4, 10000, 2)
    invited = db.session.execute(select(User).where(User.email.in_([TYPO, "nuova@example.org"]))).scalars().all()
    assert len(invited) == 2 and all(u.password_hash is None for u in invited)
    assert ledger.verify().ok
    drain()
    links = [to[0] for to, m in smtp.messages if LINK.search(m.get_body(("plain",)).get_content())]
    assert sorted(links) == sorted([TYPO, "nuova@example.org"])  # the existing holders get no link


def test_the_batch_page_lists_them_and_lets_the_official_choose(app, city):
    official = app.test_client()
    login(official, city.official.email)
    url = f"/vouchers/programmes/{city.programme.slug}/batch"
    content = _text(city).encode()

    def send(**fields):
        return post_form(official, url, {"file": (io.BytesIO(content), "run.csv"), **fields},
                         content_type="multipart/form-data")
    form = official.get(f"/vouchers/programmes/{city.programme.slug}").get_data(as_text=True)
    assert 'name="unknown_holders"' in form and 'name="preview"' in form
    asked = send()
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "Rows with an email no account has: 2. Nothing was issued." in page
    assert f"<td>{TYPO}</td>" in page and "<td>nuova@example.org</td>" in page
    preview = send(preview="1", unknown_holders="invite")
    assert preview.status_code == 200 and "Checked, nothing issued." in preview.get_data(as_text=True)
    assert f"<td>{TYPO}</td>" in preview.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Voucher)).scalar_one() == 0
    done = send(unknown_holders="leave_out")
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "2 vouchers issued" in text
    assert "Rows left out because no account has their email: 2." in text
    assert db.session.execute(select(User).where(User.email == TYPO)).scalar_one_or_none() is None


def test_the_command_asks_too(app, city, tmp_path):
    path = tmp_path / "run.csv"
    path.write_text(_text(city))
    runner = app.test_cli_runner()
    args = ["vouchers", "issue-batch", str(path), "--programme", city.programme.slug]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0 and f"line 3: no account has {TYPO}" in refused.output
    assert "--unknown-holders invite or leave-out" in refused.output
    preview = runner.invoke(args=[*args, "--preview"])
    assert preview.exit_code == 0 and "Preview, nothing issued" in preview.output
    done = runner.invoke(args=[*args, "--unknown-holders", "leave-out"])
    assert done.exit_code == 0 and "Issued 2 vouchers" in done.output and "2 rows left out" in done.output
