"""The batch issuance's staging table: parsed rows copied in, then turned into holders, ledger
accounts and vouchers by a few set-based statements per round."""
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role, User
from app.database import UTCDateTime, utcnow
from app.extensions import db

from . import codes, figures
from .models import Account, AccountKind, Currency, Programme, VoucherStatus

STAGE_ROWS = 10_000     # rows parsed in Python before one COPY (executemany on SQLite) into the staging table
ISSUE_ROWS = 100_000    # staged rows turned into vouchers per round of set-based statements
STAGING = "voucher_issue_staging"


def create_table(sqlite: bool) -> int:
    """The staging table, in the batch's transaction: n numbers the staged rows 1, 2, …; account_id
    is the id each voucher's account will have. On PostgreSQL it comes from the accounts' sequence
    as rows are copied in; on SQLite (whose write lock this transaction holds) it is the next free
    id + n: returns that base."""
    if not sqlite:
        # Room for the sorts and hashes of 100,000-row rounds in memory instead of on disk; no JIT:
        # compiling a round's statement cost 0.4 s, more than it saved (EXPLAIN ANALYZE, 100,000 rows).
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(text("SET LOCAL jit = off"))
    db.session.execute(text(f"DROP TABLE IF EXISTS {STAGING}"))
    account_id = ("account_id INTEGER" if sqlite
                  else "account_id INTEGER NOT NULL DEFAULT nextval('voucher_accounts_id_seq')")
    db.session.execute(text(f"CREATE TEMPORARY TABLE {STAGING} (n INTEGER PRIMARY KEY, line INTEGER, "
                            f"email VARCHAR(254), amount BIGINT, valid_until DATE, code VARCHAR(20), {account_id})"))
    if not sqlite:
        return 0
    return db.session.execute(select(func.coalesce(func.max(Account.id), 0))).scalar_one()


def stage_rows(batch: list[list], sqlite: bool) -> None:
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


def analyse(sqlite: bool) -> None:
    """Give PostgreSQL's planner the staged table's real size: without statistics it guesses small."""
    if not sqlite:
        db.session.execute(text(f"ANALYZE {STAGING}"))


def drop_table() -> None:
    db.session.execute(text(f"DROP TABLE {STAGING}"))


def write_codes(codes_out, sqlite: bool) -> None:
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


def issue_rows(programme: Programme, issue_id: int, start: int, stop: int, sqlite: bool) -> int:
    """Turn staged rows start < n <= stop into vouchers (_issue_staged) in a savepoint; returns how
    many holders were new. A new code that happens to equal an existing one
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
    issued_at = utcnow()
    now = bindparam("now", issued_at, type_=UTCDateTime())
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
        _count_issued(programme, issued_at, chunk, rows)
        return new_holders
    # One statement on PostgreSQL. Its snapshot does not see the users it creates: a holder is this
    # round's new user, else found by the email's index (an earlier round's or an existing account),
    # never by reading the whole users table.
    holder = "COALESCE(new.id, (SELECT u.id FROM users u WHERE u.email = s.email))"
    with_new = chunk.replace(" WHERE", " LEFT JOIN new ON new.email = s.email WHERE")
    new_holders = execute(text(
        f"WITH new AS ({new_users} RETURNING id, email), "
        "roles AS (INSERT INTO user_roles (user_id, role) SELECT id, :role FROM new), "
        f"accounts AS ({accounts}), vouchers AS ({vouchers.format(holder=holder, chunk=with_new)}) "
        "SELECT count(*) FROM new").bindparams(now), values).scalar_one()
    _count_issued(programme, issued_at, chunk, rows)
    return new_holders


def _count_issued(programme: Programme, issued_at, chunk: str, rows: dict) -> None:
    """The chunk's vouchers added to the open books' and the programme's running sums."""
    count, cents = db.session.execute(text(f"SELECT count(*), COALESCE(sum(s.amount), 0) {chunk}"), rows).one()
    if count:
        figures.count_issued(programme.id, issued_at, int(cents), int(count))


def unknown_holders(limit: int) -> tuple[int, list[tuple[int, str]]]:
    """How many staged rows have an email no account has, and the first `limit` of them as
    (line, email), in the file's order."""
    missing = f"FROM {STAGING} s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email = s.email)"
    count = db.session.execute(text(f"SELECT count(*) {missing}")).scalar_one()
    rows = db.session.execute(text(f"SELECT s.line, s.email {missing} ORDER BY s.n LIMIT :limit"),
                              {"limit": limit}).all() if count else []
    return count, [(line, email) for line, email in rows]


def leave_out_unknown_holders() -> tuple[int, int]:
    """Drop the staged rows whose email no account has; (rows, cents) left to issue."""
    db.session.execute(text(f"DELETE FROM {STAGING} WHERE NOT EXISTS "
                            f"(SELECT 1 FROM users u WHERE u.email = {STAGING}.email)"))
    rows, cents = db.session.execute(text(f"SELECT count(*), COALESCE(sum(amount), 0) FROM {STAGING}")).one()
    return int(rows), int(cents)
