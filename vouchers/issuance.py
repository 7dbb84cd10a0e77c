"""Issuance: one voucher at a time from a programme's desk, or a whole CSV file in one batch."""
import csv
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text

from app.accounts.models import User
from app.audit.operations import record
from app.database import is_sqlite, transaction, utcnow
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today, day, money
from app.notifications.operations import emit

from . import codes, figures, ledger, programmes, staging
from .events import BATCH_INVITATION
from .models import MAX_CENTS, Account, Programme, ProgrammeStatus, TransferKind, Voucher, VoucherStatus

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_programme_issuable(programme: Programme, valid_until: date) -> None:
    if programme.status != ProgrammeStatus.OPEN:
        raise Invalid(_l("The programme is closed; it issues no more vouchers."), field="programme")
    if valid_until > programme.valid_until:
        raise Invalid(_l("A voucher cannot outlive its programme, which ends on %(day)s.",
                         day=day(programme.valid_until, "long")), field="valid_until")
    if valid_until < city_today():
        raise Invalid(_l("The end of validity is already past."), field="valid_until")


def issue_voucher(programme: Programme, holder: User, amount_cents: int | None, *, actor,
                  valid_until: date | None = None, pin: str | None = None,
                  income_cents: int | None = None) -> Voucher:
    """Issue one voucher: the amount moves from the programme's account to the voucher's.

    Without an amount, the programme's income-adjusted scale sets it from the
    household's yearly income. Refused beyond the programme's unissued budget,
    past its validity, or when closed."""
    valid_until = valid_until or programme.valid_until
    if amount_cents is None and income_cents is not None:
        amount_cents = programmes.amount_for_income(programme, income_cents)
        if amount_cents == 0:
            raise Invalid(_l("At this income the programme's scale gives no voucher."), field="income")
    _check_programme_issuable(programme, valid_until)
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise Invalid(_l("The amount must be above zero."), field="amount")
    if pin is not None and not re.fullmatch(r"\d{4,6}", pin):
        raise Invalid(_l("A PIN is four to six digits."), field="pin")
    with transaction():
        available = db.session.execute(select(Account.balance).where(Account.id == programme.account_id)
                                       .with_for_update()).scalar_one()
        if amount_cents > available:
            raise Invalid(_l("The programme has %(left)s left to issue; this voucher needs %(amount)s.",
                             left=money(available), amount=money(amount_cents)), field="amount")
        _check_holder_cap(programme, holder, amount_cents)
        code = codes.new_code()
        account = ledger.voucher_account()
        issue_id = ledger.transfer(programme.account, account, amount_cents, TransferKind.ISSUE,
                                   reference=f"voucher {code}", actor=actor)
        issued_at = utcnow()
        voucher = Voucher(code=code, programme_id=programme.id, holder_id=holder.id, account_id=account.id,
                          value_cents=amount_cents, valid_until=valid_until, status=VoucherStatus.ACTIVE.value,
                          pin_hash=Voucher.hash_pin(code, pin) if pin else None, issue_transfer_id=issue_id,
                          issued_at=issued_at)
        db.session.add(voucher)
        db.session.flush()
        figures.count_issued(programme.id, issued_at, amount_cents)
        record("voucher.issued", voucher, actor=actor,
               after={"code": code, "programme": programme.slug, "holder_id": holder.id,
                      "value_cents": amount_cents, "valid_until": valid_until})
        emit("voucher.received", "voucher", voucher.id, actor=actor, programme=programme.name,
             valid_until=valid_until.isoformat())
    return voucher


def open_value(programme: Programme, holder: User) -> int:
    """What `holder` has left on the programme's active vouchers."""
    return db.session.execute(
        select(func.coalesce(func.sum(Account.balance), 0)).select_from(Voucher)
        .join(Account, Account.id == Voucher.account_id)
        .where(Voucher.programme_id == programme.id, Voucher.holder_id == holder.id,
               Voucher.status == VoucherStatus.ACTIVE.value)).scalar_one()


def _check_holder_cap(programme: Programme, holder: User, amount_cents: int) -> None:
    """Refuse a voucher that would bring the holder's open value in the programme above its cap. Called
    under the programme account's row lock, which every issuance of the programme takes first: two
    issuances to the same holder cannot both pass the check on the same sum."""
    cap = programme.max_open_cents_per_holder
    if cap is None:
        return
    held = open_value(programme, holder)
    if held + amount_cents > cap:
        raise Invalid(_l("A holder may have at most %(cap)s open in this programme; %(email)s has %(held)s, and "
                         "this voucher would add %(amount)s.", cap=money(cap), email=holder.email,
                         held=money(held), amount=money(amount_cents)), field="amount", code=HOLDER_CAP)


HOLDER_CAP = "holder_cap_exceeded"


def _check_batch_caps(programme: Programme) -> None:
    """The holder cap for a whole staged batch, in one statement: the first holder whose rows and open
    value together pass it refuses the batch (under the same row lock as single issuance)."""
    cap = programme.max_open_cents_per_holder
    if cap is None:
        return
    over = db.session.execute(text(
        f"SELECT s.email, SUM(s.amount) FROM {staging.STAGING} s GROUP BY s.email "
        "HAVING SUM(s.amount) + COALESCE((SELECT SUM(a.balance) FROM users u JOIN vouchers v ON v.holder_id = u.id "
        "JOIN voucher_accounts a ON a.id = v.account_id WHERE u.email = s.email AND v.programme_id = :programme "
        "AND v.status = :active), 0) > :cap ORDER BY s.email LIMIT 1"),
        {"programme": programme.id, "active": VoucherStatus.ACTIVE.value, "cap": cap}).first()
    if over is not None:
        raise Invalid(_l("A holder may have at most %(cap)s open in this programme; the rows for %(email)s "
                         "would bring theirs above it. Nothing was issued.", cap=money(cap), email=over[0]),
                      field="file", code=HOLDER_CAP)


@dataclass
class BatchProblem:
    line: int
    reason: str


class UnknownHolders(StrEnum):
    """What a batch does with rows whose email no account has: the official chooses, per batch."""
    ASK = "ask"              # issue nothing and list them (the default: no account is made unasked)
    INVITE = "invite"        # open their accounts and send each an invitation to choose a password
    LEAVE_OUT = "leave_out"  # issue only the rows of existing accounts


@dataclass
class BatchCheck:
    rows: int = 0
    good: int = 0
    total_cents: int = 0
    problems: list[BatchProblem] = field(default_factory=list)
    more_problems: int = 0   # beyond the ones kept, to keep memory bounded
    unknown: int = 0         # good rows whose email no account has…
    unknown_rows: list[BatchProblem] = field(default_factory=list)  # …the first MAX_REPORTED (line, email)
    available_cents: int = 0  # what the programme had left to issue

    @property
    def bad(self) -> int:
        return len(self.problems) + self.more_problems


@dataclass
class BatchResult:
    issued: int = 0
    total_cents: int = 0
    new_holders: int = 0
    left_out: int = 0        # rows of emails without an account, left out by the official's choice
    previewed: bool = False  # a dry run: checked, nothing written
    check: BatchCheck | None = None


class _Previewed(Exception):
    """Ends a dry run's transaction: everything staged is rolled back."""


BATCH_HEADER = ["holder_email", "amount_cents", "valid_until"]
MAX_REPORTED = 1000


def _parse_row(row: list[str], programme: Programme, today: date, dates: dict):
    """(email, amount, valid_until) or a translated reason. `dates` keeps what each written date
    parsed to: a file of a million rows has a handful of distinct dates."""
    if len(row) != 3:
        return _l("Expected 3 columns (holder_email, amount_cents, valid_until), found %(n)s.", n=len(row))
    email, amount, until = row
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL.match(email):
        return _l("“%(value)s” is not an email address.", value=email[:60])
    amount = amount.strip()
    if not amount.isdigit() or not 0 < int(amount) <= MAX_CENTS:
        return _l("The amount “%(value)s” is not a whole number of cents above zero.", value=amount[:30])
    valid_until = dates.get(until)
    if valid_until is None:
        valid_until = dates[until] = _parse_until(until.strip(), programme, today)
    if not isinstance(valid_until, date):
        return valid_until
    return email, int(amount), valid_until


def _parse_until(until: str, programme: Programme, today: date):
    """The end of validity a row asks for (the programme's by default), or a translated reason."""
    if until:
        try:
            valid_until = date.fromisoformat(until)
        except ValueError:
            return _l("The date “%(value)s” is not written as YYYY-MM-DD.", value=until[:30])
    else:
        valid_until = programme.valid_until
    if valid_until < today:
        return _l("The date %(value)s is already past.", value=day(valid_until, "long"))
    if valid_until > programme.valid_until:
        return _l("The date %(value)s is after the programme ends (%(end)s).", value=day(valid_until, "long"),
                  end=day(programme.valid_until, "long"))
    return valid_until


def _rows(lines):
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.strip().lstrip("\ufeff") for h in header] != BATCH_HEADER:
        raise Invalid(_l("The first line must be the header holder_email,amount_cents,valid_until."), field="file")
    for number, row in enumerate(reader, start=2):
        if row:
            yield number, row


def _check_row(check: BatchCheck, number: int, parsed) -> bool:
    """Count one parsed row in `check`; True if it can be issued."""
    check.rows += 1
    if isinstance(parsed, tuple):
        check.good += 1
        check.total_cents += parsed[1]
        return True
    if len(check.problems) < MAX_REPORTED:
        check.problems.append(BatchProblem(number, str(parsed)))
    else:
        check.more_problems += 1
    return False


def issue_batch(lines, programme: Programme, *, actor, skip_bad_rows: bool = False, codes_out=None,
                progress=None, unknown_holders: str = "ask", preview: bool = False,
                locale: str | None = None) -> BatchResult:
    """Issue one voucher per good row of a CSV (holder_email,amount_cents,valid_until).

    `lines` is an iterator over the file's lines (or a function returning one), read
    ONCE and never held in memory: each row is checked and, while it is good, staged
    with its new code into a temporary table (COPY on PostgreSQL, executemany on
    SQLite), in batches. With a bad row nothing is issued (BatchRefused lists every
    problem with its line number) unless `skip_bad_rows`; beyond the programme's
    unissued budget nothing is issued either. Rows whose email no account has are
    never given an account unasked: `unknown_holders` ASK refuses the run listing
    them (HoldersWithoutAccount), INVITE opens their accounts and sends each an
    invitation (one outbox row), LEAVE_OUT issues the other rows only. `preview`:
    a dry run that checks everything, lists the bad rows and the emails without an
    account, and writes nothing (BatchResult.previewed). The whole batch is ONE compound ISSUE
    entry (the programme's account debited the total, the vouchers its credit lines);
    then the staged rows become vouchers by one statement per staging.ISSUE_ROWS rows on
    PostgreSQL (a few on SQLite): holders without an account get a citizen account (no
    password: they set one by resetting it), each voucher its ledger account, opened
    with its value (its id taken from the sequence while staging, so no lookup joins
    it back). All of it commits together, or none. `codes_out` (a csv.writer) receives
    holder_email,code,amount_cents in the file's order; `progress(phase, n, length)`
    is called as rows are read ("check", length None) and as vouchers are written
    ("issue", length = vouchers to issue)."""
    if callable(lines):
        lines = lines()
    unknown_holders = UnknownHolders(unknown_holders)
    _check_programme_issuable(programme, programme.valid_until)
    check = BatchCheck()
    result = BatchResult(check=check)
    try:
        _issue_batch(lines, programme, result, actor=actor, skip_bad_rows=skip_bad_rows or preview,
                     codes_out=codes_out, progress=progress, unknown_holders=unknown_holders, preview=preview,
                     locale=locale)
    except _Previewed:
        result.previewed = True
    return result


def _issue_batch(lines, programme, result, *, actor, skip_bad_rows, codes_out, progress, unknown_holders,
                 preview, locale) -> None:
    check = result.check
    today, sqlite, dates = city_today(), is_sqlite(), {}
    with transaction():
        available = check.available_cents = db.session.execute(
            select(Account.balance).where(Account.id == programme.account_id).with_for_update()).scalar_one()
        next_account = staging.create_table(sqlite)
        batch: list[tuple] = []
        staging_rows = True   # until a bad row refuses the run: then the rest is only checked
        for number, row in _rows(lines):
            parsed = _parse_row(row, programme, today, dates)
            if not _check_row(check, number, parsed):
                staging_rows = staging_rows and skip_bad_rows
                continue
            if staging_rows:
                email, amount, until = parsed
                batch.append([check.good, number, email, amount, until.isoformat(), None])
                if sqlite:
                    batch[-1].append(next_account + check.good)
                if len(batch) >= staging.STAGE_ROWS:
                    staging.stage_rows(batch, sqlite)
                    batch = []
            if progress and check.rows % staging.STAGE_ROWS == 0:
                progress("check", staging.STAGE_ROWS, None)
        if progress and check.rows % staging.STAGE_ROWS:
            progress("check", check.rows % staging.STAGE_ROWS, None)
        if check.bad and not skip_bad_rows:
            raise BatchRefused(check)
        staging.stage_rows(batch, sqlite)
        staging.analyse(sqlite)
        staged = check.good  # the staged rows are numbered 1…staged
        check.unknown, unknown = staging.unknown_holders(MAX_REPORTED)
        check.unknown_rows = [BatchProblem(line, email) for line, email in unknown]
        if preview:
            raise _Previewed
        if check.good == 0:
            raise Invalid(_l("The file has no row to issue."), field="file")
        to_issue, total = check.good, check.total_cents
        if check.unknown and unknown_holders == UnknownHolders.ASK:
            raise HoldersWithoutAccount(check)
        if check.unknown and unknown_holders == UnknownHolders.LEAVE_OUT:
            to_issue, total = staging.leave_out_unknown_holders()
            result.left_out = check.unknown
            if to_issue == 0:
                raise Invalid(_l("No row is left to issue: every email in the file is without an account."),
                              field="file")
        _check_batch_caps(programme)   # on the rows left to issue
        if total > available:
            raise Invalid(_l("The file asks for %(total)s but the programme has %(left)s left to issue.",
                             total=money(total), left=money(available)), field="file")
        users_before = db.session.execute(select(func.coalesce(func.max(User.id), 0))).scalar_one()
        first_id = db.session.execute(select(func.coalesce(func.max(Voucher.id), 0))).scalar_one() + 1
        # ONE entry for the batch: the programme gives the total, the vouchers are its credit lines.
        issue_id = ledger.batch_issue_entry(programme.account, total, to_issue, actor=actor)
        for start in range(0, staged, staging.ISSUE_ROWS):
            stop = min(start + staging.ISSUE_ROWS, staged)
            result.new_holders += staging.issue_rows(programme, issue_id, start, stop, sqlite)
            if progress:
                progress("issue", stop - start, staged)
        result.issued, result.total_cents = to_issue, total
        if codes_out is not None:
            staging.write_codes(codes_out, sqlite)
        staging.drop_table()
        record("voucher.batch_issued", programme, actor=actor,
               after={"programme": programme.slug, "vouchers": result.issued, "total_cents": result.total_cents,
                      "new_holders": result.new_holders, "skipped_rows": check.bad,
                      "unknown_holders": unknown_holders.value, "left_out_rows": result.left_out})
        # One outbox row for the whole run: its audience is the holders of this id range (the programme's
        # row lock keeps other issuances of the programme out of it).
        last_id = db.session.execute(select(func.max(Voucher.id))
                                     .where(Voucher.programme_id == programme.id)).scalar_one()
        emit("voucher.received", "voucher_programme", programme.id, actor=actor, programme=programme.name,
             valid_until=programme.valid_until.isoformat(), first_id=first_id, last_id=last_id)
        if result.new_holders:
            emit(BATCH_INVITATION, "voucher_programme", programme.id, actor=actor, programme=programme.name,
                 first_id=first_id, last_id=last_id, users_before=users_before, locale=locale)


class HoldersWithoutAccount(Invalid):
    """Rows of the file have emails no account has, and the official has not said what to do with
    them; `check.unknown_rows` lists them with line numbers."""
    code = "unknown_person"

    def __init__(self, check: BatchCheck):
        super().__init__(_l("Rows with an email no account has: %(count)s. Nothing was issued. Check them for "
                            "typing mistakes, then choose to invite these people or to leave their rows out.",
                            count=check.unknown), field="unknown_holders")
        self.check = check


class BatchRefused(Invalid):
    """The file has bad rows; `check.problems` lists them with line numbers."""

    def __init__(self, check: BatchCheck):
        super().__init__(_l("%(bad)s of %(rows)s rows cannot be issued; nothing was issued.",
                            bad=check.bad, rows=check.rows), field="file")
        self.check = check
