"""Social vouchers: programmes, issuance, redemption, settlement, expiry,
contributions and time credits, as plain functions over the ledger."""
import csv
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import Role, User
from app.audit.operations import record, snapshot
from app.database import UTCDateTime, autocommit_connection, in_transaction, is_sqlite, run_raw, transaction, utcnow
from app.errors import DomainError, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today, money
from app.i18n import day as written_day
from app.notifications.operations import emit
from app.organisations import operations as organisations
from app.organisations.models import Organisation
from app.states import StateMachine

from . import codes, ledger
from .idempotency import KeyReused
from .models import (
    Account,
    AccountKind,
    Contribution,
    Currency,
    IdempotencyKey,
    Programme,
    ProgrammeStatus,
    Redemption,
    Settlement,
    SettlementLine,
    Transfer,
    TransferKind,
    Voucher,
    VoucherStatus,
)

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_CENTS = 10**12

VOUCHER_STATES = StateMachine({
    VoucherStatus.ACTIVE: {VoucherStatus.EXPIRED, VoucherStatus.REVOKED},
    VoucherStatus.EXPIRED: set(),
    VoucherStatus.REVOKED: set(),
}, labels={s: s.label for s in VoucherStatus})

PROGRAMME_STATES = StateMachine({
    ProgrammeStatus.OPEN: {ProgrammeStatus.CLOSED},
    ProgrammeStatus.CLOSED: set(),
}, labels={s: s.label for s in ProgrammeStatus})


class Gone(DomainError):
    status = 410
    code = "gone"


# Programmes -----------------------------------------------------------------------------

def _programme_state(p: Programme) -> dict:
    return snapshot(p, ["slug", "name", "budget_cents", "categories", "valid_from", "valid_until",
                        "eligibility", "scale", "status"])


def parse_scale(text: str) -> list:
    """'1500000:20000, 3000000:12000, *:6000' → [[1500000, 20000], [3000000, 12000], [None, 6000]].

    Each step is "yearly income up to (cents):voucher amount (cents)"; "*" is everyone above."""
    steps = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        limit, _, amount = part.partition(":")
        try:
            steps.append([None if limit.strip() == "*" else int(limit), int(amount)])
        except ValueError:
            raise Invalid(_l("Write each step as income:amount in cents, like 1500000:20000."),
                          field="scale") from None
    if any(s[1] < 0 for s in steps):
        raise Invalid(_l("A voucher amount on the scale cannot be negative."), field="scale")
    limits = [s[0] for s in steps if s[0] is not None]
    if limits != sorted(limits):
        raise Invalid(_l("List the income steps from the lowest to the highest."), field="scale")
    return steps


def amount_for_income(programme: Programme, income_cents: int) -> int:
    """The voucher amount the programme's income-adjusted scale gives this income (0: not eligible)."""
    for limit, amount in programme.scale or []:
        if limit is None or income_cents <= limit:
            return amount
    return 0


def create_programme(slug: str, name: str, budget_cents: int, categories: list[str], valid_until: date, *,
                     actor=None, valid_from: date | None = None, eligibility: str = "",
                     scale: list | None = None) -> Programme:
    """Open a programme: its budget moves from the collective pool into its own account."""
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug) or len(slug) > 80:
        raise Invalid(_l("Use lower-case letters, digits and dashes only, like “home-care-2027”."), field="slug")
    if not (name or "").strip():
        raise Invalid(_l("Give the programme a name."), field="name")
    if not isinstance(budget_cents, int) or budget_cents <= 0 or budget_cents > MAX_CENTS:
        raise Invalid(_l("The budget must be above zero and at most %(max)s.", max=money(MAX_CENTS)),
                      field="budget")
    categories = sorted({c.strip() for c in categories if c and c.strip()})
    if not categories:
        raise Invalid(_l("Choose at least one service category."), field="categories")
    for slug_ in categories:
        organisations.category_by_slug(slug_)
    valid_from = valid_from or city_today()
    if valid_until < valid_from:
        raise Invalid(_l("The end of validity must come after its start."), field="valid_until")
    with transaction():
        if db.session.execute(select(Programme.id).where(Programme.slug == slug)).first():
            raise Invalid(_l("The name “%(slug)s” is taken.", slug=slug), field="slug")
        account = ledger.ensure_account(AccountKind.PROGRAMME, Currency.VOUCHER, owner=slug)
        programme = Programme(slug=slug, name=name.strip(), budget_cents=budget_cents, categories=categories,
                              valid_from=valid_from, valid_until=valid_until, eligibility=eligibility.strip(),
                              scale=scale or [], status=ProgrammeStatus.OPEN.value, account_id=account.id)
        db.session.add(programme)
        db.session.flush()
        ledger.transfer(ledger.pool(), account, budget_cents, TransferKind.FUND,
                        reference=f"programme {slug}", actor=actor)
        record("voucher_programme.created", programme, actor=actor, after=_programme_state(programme))
    return programme


def close_programme(programme: Programme, *, actor) -> None:
    """Close a programme: no more issuance; its unissued budget returns to the pool."""
    PROGRAMME_STATES.check(programme.status_enum, ProgrammeStatus.CLOSED)
    with transaction():
        before = _programme_state(programme)
        programme.status = ProgrammeStatus.CLOSED.value
        left = ledger.balance(programme.account)
        if left:
            ledger.transfer(programme.account, ledger.pool(), left, TransferKind.FUND,
                            reference=f"programme {programme.slug} closed", actor=actor)
        record("voucher_programme.closed", programme, actor=actor, before=before,
               after=_programme_state(programme))


def programme_by_slug(slug: str) -> Programme:
    programme = db.session.execute(select(Programme).where(Programme.slug == slug)).scalar_one_or_none()
    if programme is None:
        raise NotFound(_l("No programme “%(slug)s”.", slug=slug), field="programme")
    return programme


def programmes() -> list[Programme]:
    return db.session.execute(select(Programme).order_by(Programme.valid_until.desc(), Programme.name)).scalars().all()


def programme_figures(programme: Programme) -> dict:
    """Issued, redeemed, expired and unissued amounts of one programme."""
    rows = dict(db.session.execute(
        select(Voucher.status, func.count(Voucher.id)).where(Voucher.programme_id == programme.id)
        .group_by(Voucher.status)).all())
    issued = db.session.execute(select(func.coalesce(func.sum(Voucher.value_cents), 0))
                                .where(Voucher.programme_id == programme.id)).scalar_one()
    redeemed = db.session.execute(
        select(func.coalesce(func.sum(Redemption.amount_cents), 0)).join(Voucher)
        .where(Voucher.programme_id == programme.id)).scalar_one()
    return {"unissued": ledger.balance(programme.account), "issued": int(issued), "redeemed": int(redeemed),
            "vouchers": rows}


# Issuance -------------------------------------------------------------------------------

def _pin_hash(voucher_code: str, pin: str) -> str:
    return hashlib.sha256(f"{voucher_code}:{pin}".encode()).hexdigest()


def _check_programme_issuable(programme: Programme, valid_until: date) -> None:
    if programme.status != ProgrammeStatus.OPEN:
        raise Invalid(_l("The programme is closed; it issues no more vouchers."), field="programme")
    if valid_until > programme.valid_until:
        raise Invalid(_l("A voucher cannot outlive its programme, which ends on %(day)s.",
                         day=programme.valid_until.isoformat()), field="valid_until")
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
        amount_cents = amount_for_income(programme, income_cents)
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
        code = codes.new_code()
        account = ledger.voucher_account()
        issue_id = ledger.transfer(programme.account, account, amount_cents, TransferKind.ISSUE,
                                   reference=f"voucher {code}", actor=actor)
        voucher = Voucher(code=code, programme_id=programme.id, holder_id=holder.id, account_id=account.id,
                          value_cents=amount_cents, valid_until=valid_until, status=VoucherStatus.ACTIVE.value,
                          pin_hash=_pin_hash(code, pin) if pin else None, issue_transfer_id=issue_id)
        db.session.add(voucher)
        db.session.flush()
        record("voucher.issued", voucher, actor=actor,
               after={"code": code, "programme": programme.slug, "holder_id": holder.id,
                      "value_cents": amount_cents, "valid_until": valid_until})
        emit("voucher.received", "voucher", voucher.id, actor=actor, programme=programme.name,
             valid_until=valid_until.isoformat())
    return voucher


@dataclass
class BatchProblem:
    line: int
    reason: str


@dataclass
class BatchCheck:
    rows: int = 0
    good: int = 0
    total_cents: int = 0
    problems: list[BatchProblem] = field(default_factory=list)
    more_problems: int = 0   # beyond the ones kept, to keep memory bounded

    @property
    def bad(self) -> int:
        return len(self.problems) + self.more_problems


@dataclass
class BatchResult:
    issued: int = 0
    total_cents: int = 0
    new_holders: int = 0
    check: BatchCheck | None = None


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
        return _l("The date %(value)s is already past.", value=valid_until.isoformat())
    if valid_until > programme.valid_until:
        return _l("The date %(value)s is after the programme ends (%(end)s).", value=valid_until.isoformat(),
                  end=programme.valid_until.isoformat())
    return valid_until


def _rows(lines):
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.strip().lstrip("\ufeff") for h in header] != BATCH_HEADER:
        raise Invalid(_l("The first line must be the header holder_email,amount_cents,valid_until."), field="file")
    for number, row in enumerate(reader, start=2):
        if row:
            yield number, row


def check_batch(lines, programme: Programme) -> BatchCheck:
    """Read a whole file, keeping only counts and the problems (bounded memory); issues nothing."""
    check, today, dates = BatchCheck(), city_today(), {}
    for number, row in _rows(lines):
        _check_row(check, number, _parse_row(row, programme, today, dates))
    return check


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


STAGE_ROWS = 10_000     # rows parsed in Python before one COPY (executemany on SQLite) into the staging table
ISSUE_ROWS = 100_000    # staged rows turned into vouchers per round of set-based statements
STAGING = "voucher_issue_staging"


def issue_batch(lines, programme: Programme, *, actor, skip_bad_rows: bool = False, codes_out=None,
                progress=None) -> BatchResult:
    """Issue one voucher per good row of a CSV (holder_email,amount_cents,valid_until).

    `lines` is an iterator over the file's lines (or a function returning one), read
    ONCE and never held in memory: each row is checked and, while it is good, staged
    with its new code into a temporary table (COPY on PostgreSQL, executemany on
    SQLite), in batches. With a bad row nothing is issued (BatchRefused lists every
    problem with its line number) unless `skip_bad_rows`; beyond the programme's
    unissued budget nothing is issued either. The whole batch is ONE compound ISSUE
    entry (the programme's account debited the total, the vouchers its credit lines);
    then the staged rows become vouchers by one statement per ISSUE_ROWS rows on
    PostgreSQL (a few on SQLite): holders without an account get a citizen account (no
    password: they set one by resetting it), each voucher its ledger account, opened
    with its value (its id taken from the sequence while staging, so no lookup joins
    it back). All of it commits together, or none. `codes_out` (a csv.writer) receives
    holder_email,code,amount_cents in the file's order; `progress(phase, n, length)`
    is called as rows are read ("check", length None) and as vouchers are written
    ("issue", length = vouchers to issue)."""
    if callable(lines):
        lines = lines()
    _check_programme_issuable(programme, programme.valid_until)
    check = BatchCheck()
    result = BatchResult(check=check)
    today, sqlite, dates = city_today(), is_sqlite(), {}
    with transaction():
        available = db.session.execute(select(Account.balance).where(Account.id == programme.account_id)
                                       .with_for_update()).scalar_one()
        if not sqlite:
            # Room for the sorts and hashes of 100,000-row rounds in memory instead of on disk; no JIT:
            # compiling a round's statement cost 0.4 s, more than it saved (EXPLAIN ANALYZE, 100,000 rows).
            db.session.execute(text("SET LOCAL work_mem = '64MB'"))
            db.session.execute(text("SET LOCAL jit = off"))
        next_account = _create_staging(sqlite)
        batch: list[tuple] = []
        staging = True   # until a bad row refuses the run: then the rest is only checked
        for number, row in _rows(lines):
            parsed = _parse_row(row, programme, today, dates)
            if not _check_row(check, number, parsed):
                staging = staging and skip_bad_rows
                continue
            if staging:
                email, amount, until = parsed
                batch.append([check.good, number, email, amount, until.isoformat(), None])
                if sqlite:
                    batch[-1].append(next_account + check.good)
                if len(batch) >= STAGE_ROWS:
                    _stage(batch, sqlite)
                    batch = []
            if progress and check.rows % STAGE_ROWS == 0:
                progress("check", STAGE_ROWS, None)
        if progress and check.rows % STAGE_ROWS:
            progress("check", check.rows % STAGE_ROWS, None)
        if check.bad and not skip_bad_rows:
            raise BatchRefused(check)
        if check.good == 0:
            raise Invalid(_l("The file has no row to issue."), field="file")
        if check.total_cents > available:
            raise Invalid(_l("The file asks for %(total)s but the programme has %(left)s left to issue.",
                             total=money(check.total_cents), left=money(available)), field="file")
        _stage(batch, sqlite)
        if not sqlite:
            # Give the planner the staged table's real size: without statistics it guesses small.
            db.session.execute(text(f"ANALYZE {STAGING}"))
        first_id = db.session.execute(select(func.coalesce(func.max(Voucher.id), 0))).scalar_one() + 1
        # ONE entry for the batch: the programme gives the total, the vouchers are its credit lines.
        issue_id = ledger.batch_issue_entry(programme.account, check.total_cents, check.good, actor=actor)
        for start in range(0, check.good, ISSUE_ROWS):
            stop = min(start + ISSUE_ROWS, check.good)
            result.new_holders += _issue_round(programme, issue_id, start, stop, sqlite)
            if progress:
                progress("issue", stop - start, check.good)
        result.issued, result.total_cents = check.good, check.total_cents
        if codes_out is not None:
            _write_codes(codes_out, sqlite)
        db.session.execute(text(f"DROP TABLE {STAGING}"))
        record("voucher.batch_issued", programme, actor=actor,
               after={"programme": programme.slug, "vouchers": result.issued, "total_cents": result.total_cents,
                      "new_holders": result.new_holders, "skipped_rows": check.bad})
        # One outbox row for the whole run: its audience is the holders of this id range (the programme's
        # row lock keeps other issuances of the programme out of it).
        last_id = db.session.execute(select(func.max(Voucher.id)).where(Voucher.programme_id == programme.id)).scalar_one()
        emit("voucher.received", "voucher_programme", programme.id, actor=actor, programme=programme.name,
             valid_until=programme.valid_until.isoformat(), first_id=first_id, last_id=last_id)
    return result


class BatchRefused(Invalid):
    """The file has bad rows; `check.problems` lists them with line numbers."""

    def __init__(self, check: BatchCheck):
        super().__init__(_l("%(bad)s of %(rows)s rows cannot be issued; nothing was issued.",
                            bad=check.bad, rows=check.rows), field="file")
        self.check = check


def _create_staging(sqlite: bool) -> int:
    """The staging table: n numbers the staged rows 1, 2, …; account_id is the id each voucher's
    account will have. On PostgreSQL it comes from the accounts' sequence as rows are copied in;
    on SQLite (whose write lock this transaction holds) it is the next free id + n: returns that base."""
    db.session.execute(text(f"DROP TABLE IF EXISTS {STAGING}"))
    account_id = ("account_id INTEGER" if sqlite
                  else "account_id INTEGER NOT NULL DEFAULT nextval('voucher_accounts_id_seq')")
    db.session.execute(text(f"CREATE TEMPORARY TABLE {STAGING} (n INTEGER PRIMARY KEY, line INTEGER, "
                            f"email VARCHAR(254), amount BIGINT, valid_until DATE, code VARCHAR(20), {account_id})"))
    if not sqlite:
        return 0
    return db.session.execute(select(func.coalesce(func.max(Account.id), 0))).scalar_one()


def _stage(batch: list[list], sqlite: bool) -> None:
    """Stage parsed rows [n, line, email, amount, valid_until, None(, account_id)] with new codes."""
    if not batch:
        return
    for row, code in zip(batch, codes.new_codes(len(batch))):
        row[5] = code
    if sqlite:
        db.session.connection().exec_driver_sql(
            f"INSERT INTO {STAGING} (n, line, email, amount, valid_until, code, account_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", [tuple(row) for row in batch])
        return
    # COPY's text format written directly (4× faster than write_row): only an email can hold a
    # character COPY would read as special, a backslash (no whitespace passes the email check).
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {STAGING} (n, line, email, amount, valid_until, code) FROM STDIN") as copy:
        copy.write("".join(f"{n}\t{line}\t{email.replace(chr(92), chr(92) * 2)}\t{amount}\t{until}\t{code}\n"
                           for n, line, email, amount, until, code in batch))
    cursor.close()


def _write_codes(codes_out, sqlite: bool) -> None:
    """holder_email,code,amount_cents of every staged row in the file's order, STAGE_ROWS at a time
    through the driver's own cursor (a server-side one on PostgreSQL). SQLAlchemy's yield_per
    result grew by ~400 bytes a row here (99 → 220 MB over 300,000 rows); the bare cursor stays flat."""
    driver = db.session.connection().connection.driver_connection
    cursor = driver.cursor() if sqlite else driver.cursor(name="voucher_issue_codes")
    try:
        cursor.execute(f"SELECT email, code, amount FROM {STAGING} ORDER BY n")
        while page := cursor.fetchmany(STAGE_ROWS):
            codes_out.writerows(page)
    finally:
        cursor.close()


def _issue_round(programme: Programme, issue_id: int, start: int, stop: int, sqlite: bool) -> int:
    """One round of _issue_staged in a savepoint. A new code that happens to equal an existing one
    (29¹¹ possible codes: about one run in 10,000 at a million vouchers) gets a fresh code and the
    round is written again, instead of failing the whole run."""
    for attempt in range(3):
        try:
            with db.session.begin_nested():
                return _issue_staged(programme, issue_id, start, stop, sqlite)
        except IntegrityError as error:
            if attempt == 2 or not ("vouchers.code" in str(error.orig) or "uq_vouchers_code" in str(error.orig)):
                raise
            taken = db.session.execute(text(
                f"SELECT s.n FROM {STAGING} s WHERE s.n > :start AND s.n <= :stop AND (s.code IN "
                f"(SELECT v.code FROM vouchers v) OR s.code IN (SELECT code FROM {STAGING} GROUP BY code "
                "HAVING count(*) > 1))"), {"start": start, "stop": stop}).scalars().all()
            for n, code in zip(taken, codes.new_codes(len(taken))):
                db.session.execute(text(f"UPDATE {STAGING} SET code = :code WHERE n = :n"), {"code": code, "n": n})


def _issue_staged(programme: Programme, issue_id: int, start: int, stop: int, sqlite: bool) -> int:
    """Turn staged rows start < n <= stop into users, accounts and vouchers (the lines of the batch's
    entry `issue_id`); returns how many holders were new. Each table is written in the order of its
    primary key."""
    rows = {"start": start, "stop": stop}
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    execute = db.session.execute
    chunk = f"FROM {STAGING} s WHERE s.n > :start AND s.n <= :stop"
    name = ("substr(s.email, 1, instr(s.email, '@') - 1)" if sqlite else "split_part(s.email, '@', 1)")
    # No ON CONFLICT: its speculative insertion made this statement ~30% slower. Someone signing up
    # with a holder's email during the run makes it fail whole (unique email), and it can be run again.
    new_users = ("INSERT INTO users (email, name, password_hash, locale, active, created_at, failed_logins, "
                 f"auth_version) SELECT s.email, MIN({name}), NULL, NULL, :active, :now, 0, 1 {chunk} "
                 "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.email = s.email) GROUP BY s.email ORDER BY s.email")
    accounts = ("INSERT INTO voucher_accounts (id, key, kind, currency, user_id, organisation_id, balance, "
                f"created_at) SELECT s.account_id, NULL, :kind, :currency, NULL, NULL, s.amount, :now {chunk} "
                "ORDER BY s.account_id")
    vouchers = ("INSERT INTO vouchers (code, programme_id, holder_id, account_id, value_cents, valid_until, status, "
                "pin_hash, issued_at, issue_transfer_id) SELECT s.code, :programme, {holder}, s.account_id, s.amount, "
                "s.valid_until, :status, NULL, :now, :issue {chunk} ORDER BY s.account_id")
    values = {"kind": AccountKind.VOUCHER.value, "currency": Currency.VOUCHER.value, "programme": programme.id,
              "status": VoucherStatus.ACTIVE.value, "issue": issue_id, "role": Role.CITIZEN.value, "active": True,
              **rows}
    if sqlite:
        last_user = execute(select(func.coalesce(func.max(User.id), 0))).scalar_one()
        new_holders = execute(text(new_users).bindparams(now), values).rowcount
        if new_holders:
            # The write lock this transaction holds keeps other ids out of this range.
            execute(text("INSERT INTO user_roles (user_id, role) SELECT u.id, :role FROM users u "
                         f"WHERE u.id > :last AND u.email IN (SELECT s.email {chunk})"), {"last": last_user, **values})
        execute(text(accounts).bindparams(now), values)
        execute(text(vouchers.format(holder="(SELECT u.id FROM users u WHERE u.email = s.email)", chunk=chunk))
                .bindparams(now), values)
        return new_holders
    # One statement on PostgreSQL. Its snapshot does not see the users it creates: a holder is this
    # round's new user, else found by the email's index (an earlier round's or an existing account),
    # never by reading the whole users table.
    holder = "COALESCE(new.id, (SELECT u.id FROM users u WHERE u.email = s.email))"
    with_new = chunk.replace(" WHERE", " LEFT JOIN new ON new.email = s.email WHERE")
    return execute(text(
        f"WITH new AS ({new_users} RETURNING id, email), "
        "roles AS (INSERT INTO user_roles (user_id, role) SELECT id, :role FROM new), "
        f"accounts AS ({accounts}), vouchers AS ({vouchers.format(holder=holder, chunk=with_new)}) "
        "SELECT count(*) FROM new").bindparams(now), values).scalar_one()


# Vouchers -------------------------------------------------------------------------------

def voucher_by_code(typed: str) -> Voucher:
    """The voucher for a typed code: Invalid (422) if malformed, NotFound if unknown."""
    try:
        code = codes.normalise(typed)
    except codes.CodeError as error:
        raise Invalid(_l("This code is mistyped: check each character.") if error.reason == "check"
                      else _l("A voucher code has twelve characters, like ABCD-EFGH-JKMN."),
                      field="code", code="bad_code") from None
    voucher = db.session.execute(select(Voucher).where(Voucher.code == code)).scalar_one_or_none()
    if voucher is None:
        raise NotFound(_l("No voucher has this code."), field="code", code="unknown_code")
    return voucher


def voucher_for_holder(voucher_id: int, user: User) -> Voucher:
    """A voucher its holder (or an official) may see; anyone else gets NotFound."""
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None or (voucher.holder_id != user.id and not user.has_role(Role.OFFICIAL, Role.ADMIN)):
        raise NotFound(_l("No such voucher."))
    return voucher


def holder_vouchers(user: User) -> list[Voucher]:
    return db.session.execute(
        select(Voucher).options(joinedload(Voucher.programme), joinedload(Voucher.account))
        .where(Voucher.holder_id == user.id).order_by(Voucher.issued_at.desc(), Voucher.id.desc())).scalars().all()


def holder_accounts(user: User) -> list[Account]:
    """Every account of a citizen: one per voucher, and their own time and contribution accounts."""
    vouchers = select(Voucher.account_id).where(Voucher.holder_id == user.id)
    return db.session.execute(select(Account).where((Account.user_id == user.id) | Account.id.in_(vouchers))
                              .order_by(Account.id)).scalars().all()


def voucher_redemptions(voucher: Voucher) -> list[Redemption]:
    return db.session.execute(
        select(Redemption).options(joinedload(Redemption.organisation))
        .where(Redemption.voucher_id == voucher.id).order_by(Redemption.id.desc())).scalars().all()


def search_vouchers(*, programme_id: int | None = None, status: str = "", query: str = "", page: int = 1):
    stmt = (select(Voucher).options(joinedload(Voucher.holder), joinedload(Voucher.programme),
                                    joinedload(Voucher.account)).order_by(Voucher.id.desc()))
    if programme_id:
        stmt = stmt.where(Voucher.programme_id == programme_id)
    if status:
        stmt = stmt.where(Voucher.status == status)
    if query:
        stmt = stmt.join(User, User.id == Voucher.holder_id).where(
            (User.email.like(f"%{query.lower()}%")) | (Voucher.code == query.upper()))
    return db.paginate(stmt, page=page, per_page=50, error_out=False)


def _voucher_state(v: Voucher) -> dict:
    return {"code": v.code, "status": v.status, "remaining_cents": ledger.balance(v.account)}


def revoke_voucher(voucher: Voucher, reason: str, *, actor) -> None:
    """Revoke a voucher: it can no longer be redeemed; what remains returns to the programme."""
    if not (reason or "").strip():
        raise Invalid(_l("Give the reason for revoking the voucher."), field="reason")
    VOUCHER_STATES.check(voucher.status_enum, VoucherStatus.REVOKED)
    _close_voucher(voucher, VoucherStatus.REVOKED, "voucher.revoked", actor, reason.strip())


def _close_voucher(voucher: Voucher, status: VoucherStatus, action: str, actor, reason: str = "") -> int:
    with transaction():
        remaining = db.session.execute(select(Account.balance).where(Account.id == voucher.account_id)
                                       .with_for_update()).scalar_one()
        before = {"code": voucher.code, "status": voucher.status, "remaining_cents": remaining}
        voucher.status = status.value
        if remaining:
            ledger.transfer(voucher.account, voucher.programme.account, remaining, TransferKind.EXPIRE,
                            reference=f"voucher {voucher.code} {status.value}", actor=actor)
        record(action, voucher, actor=actor, before=before,
               after={"code": voucher.code, "status": status.value, "returned_cents": remaining,
                      **({"reason": reason} if reason else {})})
    return remaining


def expire_vouchers(*, actor=None, on: date | None = None) -> tuple[int, int]:
    """Expire every active voucher whose validity ended before `on`; what remains goes back to
    its programme by an expire transfer. Returns (vouchers, cents returned). Running it again
    changes nothing."""
    on = on or city_today()
    count = returned = 0
    ids = db.session.execute(select(Voucher.id).where(Voucher.status == VoucherStatus.ACTIVE.value,
                                                      Voucher.valid_until < on).order_by(Voucher.id)).scalars().all()
    for voucher_id in ids:
        voucher = db.session.get(Voucher, voucher_id)
        returned += _close_voucher(voucher, VoucherStatus.EXPIRED, "voucher.expired", actor)
        count += 1
    return count, returned


# Redemption -----------------------------------------------------------------------------

@dataclass
class RedemptionResult:
    redemption_id: int
    voucher_code: str
    amount_cents: int
    remaining_cents: int
    organisation: str
    category: str
    at: datetime
    replayed: bool = False  # the answer first given to this idempotency key

    def as_json(self) -> dict:
        return {"redemption_id": self.redemption_id, "code": self.voucher_code, "amount_cents": self.amount_cents,
                "remaining_cents": self.remaining_cents, "organisation": self.organisation,
                "service_category": self.category, "at": self.at.isoformat()}


class Refused(DomainError):
    """A redemption refused with a precise, stable reason code."""


def redeem(typed_code: str, amount_cents: int, category: str, organisation: Organisation, *, actor,
           pin: str | None = None, idempotency_key: str | None = None,
           while_token_valid: str | None = None) -> RedemptionResult:
    """Redeem part or all of a voucher for a service given by `organisation`.

    Refusals, each with its own code and status: malformed or mistyped code
    (422), unknown code (404), organisation not accredited for the category
    that day or category outside the programme (403), expired or revoked (410),
    amount above what remains (409), wrong PIN (403). The voucher's row is
    locked for the whole transaction, so concurrent redemptions queue and can
    never spend more than its value. With an idempotency key, a retry returns
    the first answer and moves nothing.

    `organisation` and `actor` need only `.id` (and the organisation `.slug`
    and `.name`): the API passes the token's lean identity, the desk ORM rows.
    The work is raw SQL written once (this is the busiest write of the
    platform): on PostgreSQL ONE statement (REDEEM_PG) checks, locks and
    writes everything; on SQLite a few statements under BEGIN IMMEDIATE.

    `while_token_valid` (PostgreSQL): an API token's hash; the redemption (or a
    stored answer) then happens only if, in that same statement, the token is
    still unrevoked and its active account an org_member of `organisation`,
    else AuthorisationLapsed. The API passes it when it took the token's
    identity from its short cache (app.security.api_identity)."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
        raise Invalid(_l("The amount must be a whole number of cents above zero."), field="amount",
                      code="bad_amount")
    try:
        code = codes.normalise(typed_code)
    except codes.CodeError as error:
        raise Invalid(_l("This code is mistyped: check each character.") if error.reason == "check"
                      else _l("A voucher code has twelve characters, like ABCD-EFGH-JKMN."),
                      field="code", code="bad_code") from None
    # Plain values up front: on SQLite, opening the write transaction expires loaded rows, and
    # touching them again would reload the account and its organisations.
    organisation_id, organisation_slug = organisation.id, organisation.slug
    now = utcnow()
    params = {
        "code": code, "amount": amount_cents, "category": category, "org": organisation_id,
        "org_account_key": ledger.account_key(AccountKind.ORGANISATION, Currency.VOUCHER, organisation_id),
        "org_slug": organisation_slug, "org_name": organisation.name, "actor": actor.id,
        "scope": f"org:{organisation_id}", "key": idempotency_key or None, "today": city_today(),
        "now": now, "at": now.isoformat(), "reference": f"voucher {code}",
        "pin_hash": _pin_hash(code, pin) if pin else None, "token_hash": while_token_valid,
    }
    for attempt in range(2):
        try:
            if db.engine.dialect.name == "postgresql":
                # One statement is one transaction: alone in autocommit, or joining the caller's.
                conn = db.session.connection() if in_transaction() else autocommit_connection()
                outcome = _redeem_postgresql(conn, params)
            else:
                with transaction() as session:
                    outcome = _redeem_sqlite(session.connection(), params)
        except IntegrityError:
            # Another request with the same key committed first: answer what it answered.
            if idempotency_key:
                stored = _stored_answer(params["scope"], idempotency_key)
                if stored is not None:
                    return _replay(stored, params)
            raise
        if outcome is not _NO_ORGANISATION_ACCOUNT:
            return outcome
        # First redemption ever for this organisation: open its account, then redeem.
        ledger.ensure_account(AccountKind.ORGANISATION, Currency.VOUCHER, owner=organisation_id,
                              organisation_id=organisation_id)
    raise RuntimeError("the organisation's account could not be opened")


_NO_ORGANISATION_ACCOUNT = object()


class AuthorisationLapsed(NotAllowed):
    """The API token, its account's role or its membership went away since the API cached them."""

# One statement: the stored answer for this key, else the voucher and its account locked together,
# every check as a column, and, only when all pass, the transfer, both balances, the redemption, the
# holder's notice (outbox row, as notifications.emit writes it) and the idempotency key.
# bench/leastapp.py and bench/redemption.py's pgbench script run this very text.
REDEEM_PG = """\
WITH auth AS (
  SELECT %(token_hash)s::text IS NULL OR EXISTS (
    SELECT 1 FROM api_tokens t JOIN users u ON u.id = t.user_id
    JOIN user_roles ur ON ur.user_id = u.id AND ur.role = 'org_member'
    JOIN organisation_members m ON m.user_id = u.id AND m.organisation_id = %(org)s
    WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL AND u.active AND u.id = %(actor)s) AS authorised
), stored AS (
  SELECT response FROM voucher_idempotency_keys
  WHERE scope = %(scope)s AND key = %(key)s AND (SELECT authorised FROM auth)
), v AS (
  SELECT v.id, v.status, v.valid_until, v.account_id, a.balance,
         p.categories::jsonb ? %(category)s AS covered,
         coalesce(v.pin_hash, '') = '' OR v.pin_hash IS NOT DISTINCT FROM %(pin_hash)s AS pin_ok,
         EXISTS (SELECT 1 FROM accreditations ac JOIN service_categories sc ON sc.id = ac.category_id
                 WHERE ac.organisation_id = %(org)s AND sc.slug = %(category)s AND ac.status = 'active'
                   AND ac.valid_from <= %(today)s AND ac.valid_until >= %(today)s) AS accredited,
         (SELECT oa.id FROM voucher_accounts oa WHERE oa.key = %(org_account_key)s) AS org_account_id
  FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id
  JOIN voucher_programmes p ON p.id = v.programme_id
  WHERE v.code = %(code)s AND (SELECT authorised FROM auth) AND NOT EXISTS (SELECT 1 FROM stored)
  FOR UPDATE OF v, a
), ok AS (
  SELECT * FROM v WHERE status = 'active' AND valid_until >= %(today)s AND covered AND accredited AND pin_ok
    AND balance >= %(amount)s AND org_account_id IS NOT NULL
), t AS (
  INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference,
                                 reverses_id, actor_id, at)
  SELECT account_id, org_account_id, %(amount)s, 'voucher', 'redeem', %(reference)s, NULL, %(actor)s, %(now)s
  FROM ok RETURNING id
), debit AS (
  UPDATE voucher_accounts a SET balance = a.balance - %(amount)s FROM ok WHERE a.id = ok.account_id
), credit AS (
  UPDATE voucher_accounts a SET balance = a.balance + %(amount)s FROM ok WHERE a.id = ok.org_account_id
), r AS (
  INSERT INTO voucher_redemptions (voucher_id, organisation_id, transfer_id, category, amount_cents, actor_id,
                                   at, settlement_id)
  SELECT ok.id, %(org)s, t.id, %(category)s, %(amount)s, %(actor)s, %(now)s, NULL FROM ok, t RETURNING id
), notice AS (
  INSERT INTO outbox_events (kind, subject_type, subject_id, actor_id, context, recipients, status, "cursor",
                             created_at)
  SELECT 'voucher.redeemed', 'voucher', ok.id, %(actor)s,
         json_build_object('code', %(code)s::text, 'amount_cents', %(amount)s, 'remaining_cents', ok.balance - %(amount)s,
                           'organisation', %(org_name)s::text), '[]', 'pending', 0, %(now)s
  FROM ok
), answer AS (
  SELECT json_build_object('redemption_id', r.id, 'code', %(code)s::text, 'amount_cents', %(amount)s,
                           'remaining_cents', ok.balance - %(amount)s, 'organisation', %(org_slug)s::text,
                           'service_category', %(category)s::text, 'at', %(at)s::text) AS response
  FROM ok, r
), k AS (
  INSERT INTO voucher_idempotency_keys (scope, key, status, response, at)
  SELECT %(scope)s, %(key)s, 201, response, %(now)s FROM answer WHERE %(key)s IS NOT NULL
)
SELECT (SELECT authorised FROM auth), (SELECT response FROM stored), (SELECT response FROM answer),
       v.status, v.valid_until, v.covered, v.accredited, v.pin_ok, v.balance, v.org_account_id
FROM (SELECT 1) AS one LEFT JOIN v ON true"""


def _redeem_postgresql(conn, params: dict):
    authorised, stored, answer, *facts = run_raw(conn, REDEEM_PG, params).fetchone()
    if not authorised:
        raise AuthorisationLapsed(_l("You may redeem only for your own organisation."), field="organisation",
                                  code="not_member")
    if stored is not None:
        return _replay(stored, params)
    if answer is not None:
        return _answer(answer)
    _refuse(params, *facts)
    return _NO_ORGANISATION_ACCOUNT


# SQLite has no data-modifying WITH: the same checks and writes statement by statement, under the
# BEGIN IMMEDIATE lock transaction() takes (which serialises every writer). bench/leastapp.py runs these.
SQLITE_STATEMENTS = {
    "stored": "SELECT response FROM voucher_idempotency_keys WHERE scope = ? AND key = ?",
    "voucher": """\
SELECT v.id, v.status, v.valid_until, v.pin_hash, v.account_id, a.balance, p.categories,
       EXISTS (SELECT 1 FROM accreditations ac JOIN service_categories sc ON sc.id = ac.category_id
               WHERE ac.organisation_id = :org AND sc.slug = :category AND ac.status = 'active'
                 AND ac.valid_from <= :today AND ac.valid_until >= :today),
       (SELECT oa.id FROM voucher_accounts oa WHERE oa.key = :org_account_key)
FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id JOIN voucher_programmes p ON p.id = v.programme_id
WHERE v.code = :code""",
    "transfer": "INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, "
                "reference, reverses_id, actor_id, at) VALUES (?, ?, ?, 'voucher', 'redeem', ?, NULL, ?, ?) "
                "RETURNING id",
    "debit": "UPDATE voucher_accounts SET balance = balance - ? WHERE id = ?",
    "credit": "UPDATE voucher_accounts SET balance = balance + ? WHERE id = ?",
    "redemption": "INSERT INTO voucher_redemptions (voucher_id, organisation_id, transfer_id, category, "
                  "amount_cents, actor_id, at, settlement_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) RETURNING id",
    "notice": "INSERT INTO outbox_events (kind, subject_type, subject_id, actor_id, context, recipients, status, "
              "\"cursor\", created_at) VALUES ('voucher.redeemed', 'voucher', ?, ?, ?, '[]', 'pending', 0, ?)",
    "key": "INSERT INTO voucher_idempotency_keys (scope, key, status, response, at) VALUES (?, ?, 201, ?, ?)",
}


def _redeem_sqlite(conn, params: dict):
    s = SQLITE_STATEMENTS

    def run(statement, parameters):
        return run_raw(conn, statement, parameters)
    if params["key"] is not None:
        stored = run(s["stored"], (params["scope"], params["key"])).fetchone()
        if stored is not None:
            return _replay(json.loads(stored[0]), params)
    row = run(s["voucher"], {"org": params["org"], "category": params["category"],
                             "today": params["today"].isoformat(), "org_account_key": params["org_account_key"],
                             "code": params["code"]}).fetchone()
    if row is None:
        _refuse(params, None, None, None, None, None, None, None)
    voucher_id, status, valid_until, pin_hash, account_id, balance, categories, accredited, org_account_id = row
    valid_until = date.fromisoformat(valid_until)
    pin_ok = not pin_hash or pin_hash == params["pin_hash"]
    covered = params["category"] in (json.loads(categories) if categories else [])
    if not (status == VoucherStatus.ACTIVE.value and valid_until >= params["today"] and covered and accredited
            and pin_ok and balance >= params["amount"] and org_account_id is not None):
        _refuse(params, status, valid_until, covered, accredited, pin_ok, balance, org_account_id)
        return _NO_ORGANISATION_ACCOUNT
    amount, actor_id, remaining = params["amount"], params["actor"], balance - params["amount"]
    at = params["now"].replace(tzinfo=None).isoformat(" ", "microseconds")  # as UTCDateTime stores it
    transfer_id = run(s["transfer"], (account_id, org_account_id, amount, params["reference"], actor_id,
                                      at)).fetchone()[0]
    run(s["debit"], (amount, account_id))
    run(s["credit"], (amount, org_account_id))
    redemption_id = run(s["redemption"], (voucher_id, params["org"], transfer_id, params["category"], amount,
                                          actor_id, at)).fetchone()[0]
    run(s["notice"], (voucher_id, actor_id, json.dumps(
        {"code": params["code"], "amount_cents": amount, "remaining_cents": remaining,
         "organisation": params["org_name"]}), at))
    answer = {"redemption_id": redemption_id, "code": params["code"], "amount_cents": amount,
              "remaining_cents": remaining, "organisation": params["org_slug"],
              "service_category": params["category"], "at": params["at"]}
    if params["key"] is not None:
        run(s["key"], (params["scope"], params["key"], json.dumps(answer), at))
    return _answer(answer)


def _refuse(params: dict, status, valid_until, covered, accredited, pin_ok, balance, org_account_id) -> None:
    """Raise the first refusal that applies, in the order the API documents; return if none does
    (then only the organisation's ledger account is missing)."""
    if status is None:
        raise NotFound(_l("No voucher has this code."), field="code", code="unknown_code")
    if status == VoucherStatus.REVOKED:
        raise Gone(_l("This voucher has been revoked."), field="code", code="revoked")
    if status == VoucherStatus.EXPIRED or valid_until < params["today"]:
        raise Gone(_l("This voucher expired on %(day)s.", day=written_day(valid_until)),
                   field="code", code="expired")
    if not covered:
        raise NotAllowed(_l("This voucher does not pay for this service category."),
                         field="service_category", code="category_not_covered")
    if not accredited:
        raise NotAllowed(_l("Your organisation is not accredited for this service today."),
                         field="service_category", code="not_accredited")
    if not pin_ok:
        raise NotAllowed(_l("The holder's PIN is not right."), field="pin", code="wrong_pin")
    if balance == 0:
        raise Refused(_l("This voucher has been spent entirely."), field="amount", code="exhausted")
    if params["amount"] > balance:
        raise Refused(_l("Only %(left)s remain on this voucher.", left=money(balance)),
                      field="amount", code="amount_exceeds_remaining")


def _answer(stored: dict) -> RedemptionResult:
    return RedemptionResult(stored["redemption_id"], stored["code"], stored["amount_cents"],
                            stored["remaining_cents"], stored["organisation"], stored["service_category"],
                            datetime.fromisoformat(stored["at"]))


def _replay(stored: dict, params: dict) -> RedemptionResult:
    """A retry gets the first answer back, if it asks for the same redemption: a till that sent
    another code, amount or category under a used key must not believe that one was redeemed."""
    if (stored["code"], stored["amount_cents"], stored["service_category"]) != (
            params["code"], params["amount"], params["category"]):
        raise KeyReused(_l("This idempotency key was already used for a different request; use a new key."),
                        field="idempotency_key")
    return replace(_answer(stored), replayed=True)


def _stored_answer(scope: str, key: str) -> dict | None:
    return db.session.execute(select(IdempotencyKey.response).where(
        IdempotencyKey.scope == scope, IdempotencyKey.key == key)).scalar_one_or_none()


def organisation_redemptions(organisation: Organisation, *, page: int = 1):
    stmt = (select(Redemption).options(joinedload(Redemption.voucher))
            .where(Redemption.organisation_id == organisation.id).order_by(Redemption.id.desc()))
    return db.paginate(stmt, page=page, per_page=50, error_out=False)


def organisation_balance(organisation: Organisation) -> int:
    """Redeemed and not yet settled, in cents."""
    key = ledger.account_key(AccountKind.ORGANISATION, Currency.VOUCHER, organisation.id)
    return db.session.execute(select(Account.balance).where(Account.key == key)).scalar_one_or_none() or 0


# Settlement -----------------------------------------------------------------------------

def _period_bounds(start: date, end: date):
    from datetime import time, timedelta

    from app.i18n import city_timezone
    zone = city_timezone()
    return (datetime.combine(start, time.min, zone),
            datetime.combine(end + timedelta(days=1), time.min, zone))


def settle(period_start: date, period_end: date, *, actor=None) -> tuple[Settlement, bool]:
    """Clear a period: each organisation is paid from the pool what it redeemed in it.

    One settle transfer per organisation (organisation → pool), one statement
    line, and the period's redemptions marked settled. A period already settled
    is returned as it is (`created` False): re-running it changes nothing."""
    if period_end < period_start:
        raise Invalid(_l("The end of the period must come after its start."), field="period_end")
    if period_end >= city_today():
        raise Invalid(_l("Only a period that has ended can be settled."), field="period_end")
    start_at, end_at = _period_bounds(period_start, period_end)
    with transaction():
        existing = db.session.execute(select(Settlement).where(
            Settlement.period_start == period_start, Settlement.period_end == period_end)).scalar_one_or_none()
        if existing is not None:
            return existing, False
        overlap = db.session.execute(select(Settlement.id).where(
            Settlement.period_start <= period_end, Settlement.period_end >= period_start)).first()
        if overlap:
            raise Invalid(_l("This period overlaps one already settled."), field="period_start")
        settlement = Settlement(period_start=period_start, period_end=period_end, total_cents=0,
                                actor_id=getattr(actor, "id", None))
        db.session.add(settlement)
        db.session.flush()
        unsettled = (Redemption.settlement_id.is_(None), Redemption.at >= start_at, Redemption.at < end_at,
                     ~Redemption.transfer_id.in_(select(Transfer.reverses_id).where(Transfer.reverses_id.is_not(None))))
        rows = db.session.execute(
            select(Redemption.organisation_id, func.count(Redemption.id), func.sum(Redemption.amount_cents))
            .where(*unsettled).group_by(Redemption.organisation_id).order_by(Redemption.organisation_id)).all()
        pool = ledger.pool()
        for organisation_id, count, amount in rows:
            organisation = db.session.get(Organisation, organisation_id)
            transfer_id = ledger.transfer(ledger.organisation_account(organisation), pool, int(amount),
                                          TransferKind.SETTLE, actor=actor,
                                          reference=f"settlement {period_start.isoformat()}/{period_end.isoformat()}")
            db.session.add(SettlementLine(settlement_id=settlement.id, organisation_id=organisation_id,
                                          redemptions=count, amount_cents=int(amount), transfer_id=transfer_id))
            settlement.total_cents += int(amount)
            emit("voucher.settlement_paid", "voucher_settlement", settlement.id, actor=actor,
                 organisation_id=organisation_id, organisation=organisation.name, total_cents=int(amount),
                 period_start=period_start.isoformat(), period_end=period_end.isoformat())
        db.session.execute(update(Redemption).where(*unsettled).values(settlement_id=settlement.id)
                           .execution_options(synchronize_session=False))
        db.session.flush()
        record("voucher_settlement.run", settlement, actor=actor,
               after={"period_start": period_start, "period_end": period_end, "total_cents": settlement.total_cents,
                      "organisations": len(rows)})
    return settlement, True


def settlements(page: int = 1):
    return db.paginate(select(Settlement).order_by(Settlement.period_end.desc()), page=page, per_page=25,
                       error_out=False)


def settlement_by_id(settlement_id: int) -> Settlement:
    settlement = db.session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound(_l("No such settlement."))
    return settlement


def statement_line(settlement: Settlement, organisation: Organisation, user: User) -> SettlementLine:
    """One organisation's line of a settlement, for its members or officials only."""
    if not (user.has_role(Role.OFFICIAL, Role.ADMIN) or user.member_of(organisation)):
        raise NotFound(_l("No such statement."))
    for line in settlement.lines:
        if line.organisation_id == organisation.id:
            return line
    raise NotFound(_l("This organisation has nothing in this settlement."))


def statement_lines_for(user: User) -> list[SettlementLine]:
    """The settlement lines of the user's organisations, newest first."""
    org_ids = [o.id for o in user.organisations]
    return db.session.execute(
        select(SettlementLine).options(joinedload(SettlementLine.settlement), joinedload(SettlementLine.organisation))
        .where(SettlementLine.organisation_id.in_(org_ids)).order_by(SettlementLine.id.desc())).scalars().all()


def statement_redemptions(settlement: Settlement, organisation: Organisation) -> list[Redemption]:
    return db.session.execute(
        select(Redemption).options(joinedload(Redemption.voucher))
        .where(Redemption.settlement_id == settlement.id, Redemption.organisation_id == organisation.id)
        .order_by(Redemption.id)).scalars().all()


# Contributions --------------------------------------------------------------------------

def contribute(amount_cents: int, *, actor: User, organisation: Organisation | None = None) -> Contribution:
    """Record a contribution to the collective pool by a citizen or (for its members) an organisation.

    The money comes from outside the ledger: the contributor's outside account
    is debited (its negative balance is what they gave) and the pool credited."""
    if not isinstance(amount_cents, int) or amount_cents <= 0 or amount_cents > MAX_CENTS:
        raise Invalid(_l("The amount must be above zero."), field="amount")
    if organisation is not None and not actor.member_of(organisation):
        raise NotAllowed(_l("You may contribute only for your own organisation."), field="organisation")
    with transaction():
        pool = ledger.pool()
        source = ledger.external_account(user=actor, organisation=organisation)
        transfer_id = ledger.transfer(source, pool, amount_cents, TransferKind.CONTRIBUTE, actor=actor,
                                      reference="contribution")
        contribution = Contribution(user_id=None if organisation else actor.id,
                                    organisation_id=organisation.id if organisation else None,
                                    amount_cents=amount_cents, transfer_id=transfer_id)
        db.session.add(contribution)
        db.session.flush()
        record("voucher_contribution.received", contribution, actor=actor,
               after={"amount_cents": amount_cents, "organisation": organisation.slug if organisation else None})
    return contribution


def contribution_for(contribution_id: int, user: User) -> Contribution:
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or not (
            contribution.user_id == user.id or user.has_role(Role.OFFICIAL, Role.ADMIN)
            or (contribution.organisation is not None and user.member_of(contribution.organisation))):
        raise NotFound(_l("No such contribution."))
    return contribution


def contributions_of(user: User) -> list[Contribution]:
    org_ids = [o.id for o in user.organisations]
    return db.session.execute(
        select(Contribution).where((Contribution.user_id == user.id) | (Contribution.organisation_id.in_(org_ids)))
        .order_by(Contribution.id.desc())).scalars().all()


# Time credits ---------------------------------------------------------------------------
# Each move is one transaction (@transaction()) with the accounts it opens on first use: refused
# for want of minutes, it leaves no account behind.

@transaction()
def record_time(volunteer: User, minutes: int, organisation: Organisation, *, actor: User, note: str = "") -> int:
    """An organisation records care given by a volunteer: minutes move from the time pool to them."""
    if not actor.member_of(organisation):
        raise NotAllowed(_l("You may record time only for your own organisation."), field="organisation")
    if not isinstance(minutes, int) or minutes <= 0 or minutes > 24 * 60:
        raise Invalid(_l("Record between 1 and 1440 minutes at a time."), field="minutes")
    return ledger.transfer(ledger.pool(Currency.TIME), ledger.citizen_account(volunteer, Currency.TIME), minutes,
                           TransferKind.EARN_TIME, actor=actor, reference=f"{organisation.slug}: {note}"[:200])


@transaction()
def spend_time(holder: User, minutes: int, organisation: Organisation, *, actor: User) -> int:
    """Spend time credits on a service at an organisation (recorded by the organisation)."""
    if not actor.member_of(organisation):
        raise NotAllowed(_l("You may record time only for your own organisation."), field="organisation")
    return ledger.transfer(ledger.citizen_account(holder, Currency.TIME),
                           ledger.organisation_account(organisation, Currency.TIME), minutes,
                           TransferKind.SPEND_TIME, actor=actor, reference=organisation.slug)


@transaction()
def give_time(giver: User, relative: User, minutes: int) -> int:
    """Give time credits to a relative's account."""
    if relative.id == giver.id:
        raise Invalid(_l("Choose someone else's account."), field="email")
    return ledger.transfer(ledger.citizen_account(giver, Currency.TIME),
                           ledger.citizen_account(relative, Currency.TIME), minutes,
                           TransferKind.GIVE_TIME, actor=giver, reference=f"to {relative.id}")


@transaction()
def donate_time(giver: User, minutes: int) -> int:
    """Donate unused time credits to the shared time pool."""
    return ledger.transfer(ledger.citizen_account(giver, Currency.TIME), ledger.pool(Currency.TIME), minutes,
                           TransferKind.DONATE_TIME, actor=giver, reference="donation")


def time_balance(user: User) -> int:
    key = ledger.account_key(AccountKind.CITIZEN, Currency.TIME, user.id)
    return db.session.execute(select(Account.balance).where(Account.key == key)).scalar_one_or_none() or 0


# Open books -----------------------------------------------------------------------------

def _month(column):
    if is_sqlite():
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


def open_books() -> list[dict]:
    """Aggregates per programme, category, neighbourhood and month: issued, redeemed,
    settled and expired (cents). Only sums and counts: no person appears."""
    figures: dict[tuple, dict] = {}

    def add(key, name, value, count):
        row = figures.setdefault(key, {"programme": key[0], "category": key[1], "neighbourhood": key[2],
                                       "month": key[3], "issued_cents": 0, "vouchers_issued": 0,
                                       "redeemed_cents": 0, "redemptions": 0, "settled_cents": 0,
                                       "expired_cents": 0})
        row[name + "_cents"] += int(value or 0)
        if name == "issued":
            row["vouchers_issued"] += count
        if name == "redeemed":
            row["redemptions"] += count
    month = _month(Voucher.issued_at)
    for slug, mon, total, count in db.session.execute(
            select(Programme.slug, month, func.sum(Voucher.value_cents), func.count(Voucher.id))
            .join(Programme, Programme.id == Voucher.programme_id).group_by(Programme.slug, month)):
        add((slug, "", "", mon), "issued", total, count)
    month = _month(Redemption.at)
    base = (select(Programme.slug, Redemption.category, Organisation.neighbourhood, month,
                   func.sum(Redemption.amount_cents), func.count(Redemption.id))
            .join(Voucher, Voucher.id == Redemption.voucher_id).join(Programme, Programme.id == Voucher.programme_id)
            .join(Organisation, Organisation.id == Redemption.organisation_id))
    group = (Programme.slug, Redemption.category, Organisation.neighbourhood, month)
    for slug, cat, hood, mon, total, count in db.session.execute(base.group_by(*group)):
        add((slug, cat, hood, mon), "redeemed", total, count)
    for slug, cat, hood, mon, total, _count in db.session.execute(
            base.where(Redemption.settlement_id.is_not(None)).group_by(*group)):
        add((slug, cat, hood, mon), "settled", total, 0)
    month = _month(Transfer.at)
    for slug, mon, total in db.session.execute(
            select(Programme.slug, month, func.sum(Transfer.amount))
            .join(Programme, Programme.account_id == Transfer.credit_account_id)
            .where(Transfer.kind == TransferKind.EXPIRE.value).group_by(Programme.slug, month)):
        add((slug, "", "", mon), "expired", total, 0)
    return sorted(figures.values(), key=lambda r: (r["month"], r["programme"], r["category"], r["neighbourhood"]))


def pool_figures() -> dict:
    """The pools' balances and what was contributed (the public headline figures)."""
    balances = dict(db.session.execute(select(Account.currency, Account.balance)
                                       .where(Account.kind == AccountKind.POOL.value)).all())
    contributed = db.session.execute(select(func.coalesce(func.sum(Contribution.amount_cents), 0))).scalar_one()
    return {"pool_balance_cents": int(balances.get(Currency.VOUCHER.value, 0)),
            "time_pool_balance_minutes": int(balances.get(Currency.TIME.value, 0)),
            "contributed_cents": int(contributed)}


def accredited_directory(category: str = "", neighbourhood: str = "") -> list:
    """Accreditations in force today for the service categories vouchers pay for, filtered."""
    rows = organisations.accreditations_in_force(category_slug=category or None)
    if neighbourhood:
        rows = [a for a in rows if a.organisation.neighbourhood.lower() == neighbourhood.lower()]
    return rows


# Accounts and transfers, for officials' pages ---------------------------------------------

def account_by_id(account_id: int) -> Account:
    account = db.session.get(Account, account_id) if 0 < account_id < 2**63 else None
    if account is None:
        raise NotFound(_l("No such account."))
    return account


def account_label(account: Account) -> str:
    """Whose account this is, in words: "Voucher ABCD-…", "Casa Comune (time credits)"."""
    kind, currency = AccountKind(account.kind), Currency(account.currency)
    owner = ""
    if kind == AccountKind.VOUCHER:
        # Batch-issued voucher accounts have no key: the voucher names its account.
        owner = db.session.execute(select(Voucher.code).where(Voucher.account_id == account.id)).scalar_one_or_none() or ""
    elif kind == AccountKind.PROGRAMME:
        slug = account.key.split(":")[1]
        owner = db.session.execute(select(Programme.name).where(Programme.slug == slug)).scalar_one_or_none() or slug
    elif account.organisation_id:
        owner = db.session.get(Organisation, account.organisation_id).name
    elif account.user_id:
        owner = db.session.get(User, account.user_id).email
    label = f"{kind.label} {owner}".strip()
    return str(_l("%(account)s (time credits)", account=label)) if currency == Currency.TIME else label


def reference_text(transfer: Transfer) -> str:
    """A transfer's reference in the reader's language. The ledger keeps the words it was written
    with (append-only, in English): here its fixed words give way to the kind's translated label
    (shown beside it) and ids to what they name."""
    words = (transfer.reference or "").split(" ")
    kind = transfer.kind
    if kind in (TransferKind.REDEEM, TransferKind.ISSUE) and len(words) == 2 and words[0] == "voucher":
        return words[1]
    if kind == TransferKind.EXPIRE and len(words) == 3 and words[0] == "voucher" and words[2] in set(VoucherStatus):
        return f"{words[1]} · {VoucherStatus(words[2]).label}"
    if kind == TransferKind.GIVE_TIME and len(words) == 2 and words[0] == "to" and words[1].isdigit():
        relative = db.session.get(User, int(words[1]))
        return relative.name if relative else ""
    if (kind, transfer.reference) in ((TransferKind.CONTRIBUTE, "contribution"),
                                      (TransferKind.DONATE_TIME, "donation")):
        return ""
    return transfer.reference or ""


def credit_label(transfer: Transfer) -> str:
    """Where a transfer went, in words; a batch issuance went to its vouchers."""
    if not transfer.batch_issue:
        return account_label(transfer.credit_account)
    return str(_l("The vouchers of this batch"))


def reversed_among(transfer_ids: list[int]) -> dict[int, int]:
    """{transfer id: id of the transfer reversing it} for those of `transfer_ids` reversed."""
    if not transfer_ids:
        return {}
    return dict(db.session.execute(select(Transfer.reverses_id, Transfer.id)
                                   .where(Transfer.reverses_id.in_(transfer_ids))).all())
