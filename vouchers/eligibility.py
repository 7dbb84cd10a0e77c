"""Eligibility lists and verified residents (issue #23).

An official loads a programme's list (CSV: identifier,birth_date,income_cents,email,postal_address,
language). The identifiers are kept only as HMAC-SHA256 hashes under PROCOMUN_ELIGIBILITY_KEY, a
setting outside the database: a copy of the database alone cannot test whose number is on a list.
A resident proves who they are by typing their identifier and date of birth; the match (the hash)
is stored on their account, and each programme whose list has them issues them its voucher once:
the unique (programme, person) grant is written before the voucher, in the same transaction."""
import csv
import hmac
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.accounts import residency, throttles
from app.audit.operations import record
from app.config import LOCALES
from app.database import UTCDateTime, is_sqlite, transaction, utcnow
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today

from . import issuance, programmes, staging
from .eligibility_models import EligibilityEntry, EligibilityGrant, ResidentVerification
from .models import MAX_CENTS, Account, Programme, ProgrammeStatus

HEADER = ["identifier", "birth_date", "income_cents", "email", "postal_address", "language"]
STAGE_ROWS = 5_000        # parsed rows inserted into the staging table at once
MAX_REPORTED = 1000       # refused rows kept with their reason; beyond, only counted
STAGING = "voucher_eligibility_staging"
IDENTIFIER = re.compile(r"^[A-Z0-9]{4,30}$")
SEPARATORS = re.compile(r"[\s.\-]")
VERIFY_ATTEMPTS = 5       # per account and per hour: 10^4 birth dates are not guessed at this pace
VERIFY_WINDOW = timedelta(hours=1)
ISSUE_CHUNK = 20_000      # verified residents issued per transaction by issue_to_verified


def identity_hash(identifier: str, key: bytes | None = None) -> str:
    """The keyed hash a list keeps for an identifier, written with or without spaces, dots or dashes."""
    key = key or current_app.config["PROCOMUN_ELIGIBILITY_KEY"].encode()
    return hmac.digest(key, b"resident:" + SEPARATORS.sub("", identifier or "").upper().encode(), "sha256").hex()


@dataclass
class Refusal:
    line: int
    reason: str


@dataclass
class ListCheck:
    checked: int = 0
    eligible: int = 0
    refusals: list[Refusal] = field(default_factory=list)
    more_refused: int = 0
    loaded: bool = False

    @property
    def refused(self) -> int:
        return len(self.refusals) + self.more_refused

    def refuse(self, line: int, reason) -> None:
        if len(self.refusals) < MAX_REPORTED:
            self.refusals.append(Refusal(line, str(reason)))
        else:
            self.more_refused += 1


def _parse(row: list[str], programme: Programme, today: date, key: bytes):
    """The staged values of one row (hash, birth date, income, amount, email, address, language), or a
    translated reason."""
    if len(row) != len(HEADER):
        return _l("Expected 6 columns (identifier, birth_date, income_cents, email, postal_address, language), "
                  "found %(n)s.", n=len(row))
    identifier, born, income, email, address, language = (cell.strip() for cell in row)
    if not IDENTIFIER.match(SEPARATORS.sub("", identifier).upper()):
        return _l("The identifier is not 4 to 30 letters and digits.")
    try:
        birth_date = date.fromisoformat(born)
    except ValueError:
        return _l("The date “%(value)s” is not written as YYYY-MM-DD.", value=born[:30])
    if not date(1900, 1, 1) <= birth_date <= today:
        return _l("The date of birth %(value)s is not possible.", value=birth_date.isoformat())
    if not income.isdigit() or int(income) > MAX_CENTS:
        return _l("The income “%(value)s” is not a whole number of cents.", value=income[:30])
    email = email.lower() or None
    if email is not None and (len(email) > 254 or not issuance.EMAIL.match(email)):
        return _l("“%(value)s” is not an email address.", value=email[:60])
    if len(address) > 300:
        return _l("The postal address is longer than 300 characters.")
    language = language.lower() or current_app.config["BABEL_DEFAULT_LOCALE"]
    if language not in LOCALES:
        return _l("The language “%(value)s” is not one of en, es, it, ca.", value=language[:10])
    amount = programmes.amount_for_income(programme, int(income))
    if amount <= 0:
        return _l("At this income the programme's scale gives no voucher.")
    return identity_hash(identifier, key), birth_date, int(income), amount, email, address or None, language


def _stage(batch: list[tuple], sqlite: bool) -> None:
    """Parsed rows into the staging table: executemany on SQLite, COPY on PostgreSQL (an INSERT per
    row through executemany took 59 s for 100,000 rows on the bench machine)."""
    if not batch:
        return
    columns = "line, h, birth_date, income, amount, email, address, language"
    if sqlite:
        db.session.connection().exec_driver_sql(
            f"INSERT INTO {STAGING} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch)
        return
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)
    cursor.close()


def _rows(lines):
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.strip().lstrip("\ufeff") for h in header] != HEADER:
        raise Invalid(_l("The first line must be the header %(header)s.", header=",".join(HEADER)), field="file")
    for number, row in enumerate(reader, start=2):
        if row:
            yield number, row


def load_list(lines, programme: Programme, *, actor, dry_run: bool = False) -> ListCheck:
    """Check an eligibility list and, unless `dry_run`, make it the programme's list (replacing the
    one before; vouchers already granted stay granted, once per person).

    Read once and never held whole: rows are hashed and staged in batches into a temporary table,
    duplicates found there by one statement, the list written by one INSERT … SELECT. A row is
    refused, with its line, when it is malformed, when the scale gives nothing at its income, or
    when its identifier is on an earlier line; the other rows are eligible."""
    if programme.status != ProgrammeStatus.OPEN:
        raise Invalid(_l("The programme is closed; it issues no more vouchers."), field="file")
    check, today = ListCheck(), city_today()
    with transaction():
        db.session.execute(text(f"DROP TABLE IF EXISTS {STAGING}"))
        db.session.execute(text(
            f"CREATE TEMPORARY TABLE {STAGING} (line INTEGER PRIMARY KEY, h VARCHAR(64), birth_date DATE, "
            "income BIGINT, amount BIGINT, email VARCHAR(254), address VARCHAR(300), language VARCHAR(5))"))
        batch, sqlite = [], is_sqlite()
        key = current_app.config["PROCOMUN_ELIGIBILITY_KEY"].encode()
        for number, row in _rows(lines):
            check.checked += 1
            parsed = _parse(row, programme, today, key)
            if not isinstance(parsed, tuple):
                check.refuse(number, parsed)
                continue
            batch.append((number, *parsed))
            if len(batch) >= STAGE_ROWS:
                _stage(batch, sqlite)
                batch = []
        _stage(batch, sqlite)
        db.session.execute(text(f"CREATE INDEX {STAGING}_h ON {STAGING} (h, line)"))
        duplicates = db.session.execute(text(
            f"SELECT s.line, MIN(t.line) FROM {STAGING} s JOIN {STAGING} t ON t.h = s.h AND t.line < s.line "
            "GROUP BY s.line ORDER BY s.line"))
        for line, first in duplicates:
            check.refuse(line, _l("The same identifier is already on line %(line)s.", line=first))
        check.eligible = check.checked - check.refused
        check.refusals.sort(key=lambda refusal: refusal.line)
        if not dry_run:
            db.session.execute(delete(EligibilityEntry).where(EligibilityEntry.programme_id == programme.id))
            db.session.execute(text(
                "INSERT INTO voucher_eligibility (programme_id, identity_hash, birth_date, income_cents, amount_cents, "
                "email, postal_address, language, line) SELECT :programme, s.h, s.birth_date, s.income, s.amount, "
                f"s.email, s.address, s.language, s.line FROM {STAGING} s WHERE NOT EXISTS "
                f"(SELECT 1 FROM {STAGING} t WHERE t.h = s.h AND t.line < s.line) ORDER BY s.line"),
                {"programme": programme.id})
            record("voucher.eligibility_loaded", programme, actor=actor,
                   after={"programme": programme.slug, "checked": check.checked, "eligible": check.eligible,
                          "refused": check.refused})
            check.loaded = True
        db.session.execute(text(f"DROP TABLE {STAGING}"))
    return check


def list_size(programme: Programme) -> int:
    return db.session.execute(select(func.count()).select_from(EligibilityEntry)
                              .where(EligibilityEntry.programme_id == programme.id)).scalar_one()


def verification_of(user) -> ResidentVerification | None:
    return db.session.execute(select(ResidentVerification)
                              .where(ResidentVerification.user_id == user.id)).scalar_one_or_none()


def is_verified_resident(user) -> bool:
    return db.session.execute(select(ResidentVerification.id)
                              .where(ResidentVerification.user_id == user.id)).first() is not None


# The pacts ask app/accounts/residency.py, which asks this (a city may require it to propose or support).
residency.register_verifier(is_verified_resident, "vouchers.verify_resident")


def verify_resident(user, identifier: str, birth_date: date) -> list:
    """Prove `user` is a resident on a list: the identifier and date of birth must match an entry
    of some programme's list. Throttled per account; stores the match (the keyed hash), never the
    identifier; one account per person. Then issues each open programme's voucher the person is
    eligible for (once per person per programme); returns the vouchers issued."""
    if verification_of(user) is not None:
        raise Invalid(_l("Your account is already verified."), field="identifier")
    if throttles.bump(f"resident-verify:{user.id}", VERIFY_WINDOW) > VERIFY_ATTEMPTS:
        raise Invalid(_l("Too many attempts: try again in an hour."), field="identifier")
    match = identity_hash(identifier)
    found = db.session.execute(select(EligibilityEntry.id).where(
        EligibilityEntry.identity_hash == match, EligibilityEntry.birth_date == birth_date).limit(1)).scalar()
    if found is None:
        raise Invalid(_l("This identifier and date of birth are not on any of the city's lists."),
                      field="identifier")
    try:
        with transaction():
            db.session.add(ResidentVerification(user_id=user.id, identity_hash=match))
            db.session.flush()
            record("voucher.resident_verified", user, actor=user, after={"user_id": user.id})
    except IntegrityError:
        raise Invalid(_l("This person is already verified on another account; ask the city's office."),
                      field="identifier") from None
    issued = []
    for programme in db.session.execute(
            select(Programme).join(EligibilityEntry, EligibilityEntry.programme_id == Programme.id)
            .where(EligibilityEntry.identity_hash == match, Programme.status == ProgrammeStatus.OPEN)).scalars():
        voucher = grant(programme, user, match, actor=user, quiet=True)
        if voucher is not None:
            issued.append(voucher)
    return issued


def grant(programme: Programme, holder, match: str, *, actor, quiet: bool = False):
    """Issue `programme`'s voucher to a verified resident on its list, at the amount its scale gave;
    None if the person already had it (or, with `quiet`, if the programme cannot issue it now).

    The grant row goes in first by INSERT … ON CONFLICT DO NOTHING: of two concurrent calls for the
    same person, the second waits on the unique index and then writes nothing."""
    entry = db.session.execute(select(EligibilityEntry).where(
        EligibilityEntry.programme_id == programme.id, EligibilityEntry.identity_hash == match)).scalar_one_or_none()
    if entry is None:
        return None
    insert = sqlite_insert if is_sqlite() else pg_insert
    try:
        with transaction():
            new = db.session.execute(
                insert(EligibilityGrant).values(programme_id=programme.id, identity_hash=match, at=utcnow())
                .on_conflict_do_nothing(index_elements=["programme_id", "identity_hash"])
                .returning(EligibilityGrant.id)).scalar()
            if new is None:
                return None
            voucher = issuance.issue_voucher(programme, holder, entry.amount_cents, actor=actor)
            db.session.execute(EligibilityGrant.__table__.update().where(EligibilityGrant.id == bindparam("g"))
                               .values(voucher_id=voucher.id), {"g": new})
    except Invalid:
        if quiet:
            return None
        raise
    return voucher


# The verified residents on a programme's list who have not had its voucher, in the list's order.
WAITING = ("FROM voucher_eligibility e JOIN voucher_resident_verifications r ON r.identity_hash = e.identity_hash "
           "WHERE e.programme_id = :programme AND NOT EXISTS (SELECT 1 FROM voucher_eligibility_grants g "
           "WHERE g.programme_id = e.programme_id AND g.identity_hash = e.identity_hash)")


def issue_to_verified(programme: Programme, *, actor, chunk: int = ISSUE_CHUNK) -> int:
    """Issue the programme's voucher, at the amount its scale gave, to every verified resident on its
    list who has not had it, once per person; returns how many were issued.

    Set-based, `chunk` people per transaction (memory stays bounded by the chunk): their grants are
    claimed by one INSERT … SELECT … ON CONFLICT DO NOTHING (first, as `grant` does, so a resident
    verifying at the same time, or a second run, waits on the unique grant and then gets nothing),
    then they are staged and issued by the batch issuance's own statements (issuance.issue_staged),
    under the programme account's row lock. A chunk that would bring a holder above the programme's
    cap issues nothing (HOLDER_CAP), keeping the chunks before it. When the budget runs out, the
    people it still covers, in the list's order, are issued and the rest refused with the count."""
    issuance.check_programme_issuable(programme, programme.valid_until)
    issued, after = 0, 0
    while True:
        done, after, short = _issue_verified_chunk(programme, after, chunk, actor)
        issued += done
        if short:
            raise Invalid(_l("The programme's budget ran out: %(issued)s vouchers were issued; the other "
                             "verified residents on its list are still waiting.", issued=issued),
                          field="programme", code="budget_exhausted")
        if after is None:
            return issued


def _issue_verified_chunk(programme: Programme, after: int, chunk: int, actor) -> tuple[int, int | None, bool]:
    """Issue to the next `chunk` waiting people after list entry `after`, in one transaction; returns
    (issued, the last entry looked at or None when nobody is left, whether the budget ran short)."""
    sqlite, execute = is_sqlite(), db.session.execute
    params = {"programme": programme.id, "after": after, "chunk": chunk}
    with transaction():
        upto = execute(text(f"SELECT max(page.id) FROM (SELECT e.id {WAITING} AND e.id > :after ORDER BY e.id "
                            "LIMIT :chunk) page"), params).scalar()
        if upto is None:
            return 0, None, False
        now = bindparam("now", utcnow(), type_=UTCDateTime())
        claimed = execute(text(
            f"INSERT INTO voucher_eligibility_grants (programme_id, identity_hash, at) SELECT e.programme_id, "
            f"e.identity_hash, :now {WAITING} AND e.id > :after AND e.id <= :upto ORDER BY e.id "
            "ON CONFLICT (programme_id, identity_hash) DO NOTHING").bindparams(now), {**params, "upto": upto}).rowcount
        if not claimed:
            return 0, upto, False
        # Only this transaction's claims have no voucher yet: every grant gets one before it commits.
        next_account = staging.create_table(sqlite)
        rows = execute(text(
            "SELECT e.id, u.email, e.amount_cents FROM voucher_eligibility_grants g JOIN voucher_eligibility e "
            "ON e.programme_id = g.programme_id AND e.identity_hash = g.identity_hash JOIN "
            "voucher_resident_verifications r ON r.identity_hash = g.identity_hash JOIN users u ON u.id = r.user_id "
            "WHERE g.programme_id = :programme AND g.voucher_id IS NULL ORDER BY e.id"), params)
        until = programme.valid_until.isoformat()
        # Staged as the batch issuance stages a file's rows, the list entry's id in place of the line.
        batch = [[n, entry, email, amount, until, None, *([next_account + n] if sqlite else [])]
                 for n, (entry, email, amount) in enumerate(rows, start=1)]
        staging.stage_rows(batch, sqlite)
        staging.analyse(sqlite)
        staged = len(batch)
        available = execute(select(Account.balance).where(Account.id == programme.account_id)
                            .with_for_update()).scalar_one()
        fits, total = execute(text(
            "SELECT count(*), COALESCE(sum(amount), 0) FROM (SELECT amount, sum(amount) OVER (ORDER BY n) AS running "
            f"FROM {staging.STAGING}) t WHERE running <= :available"), {"available": available}).one()
        short = fits < staged
        if short:   # the budget covers the first `fits` people in the list's order
            execute(text(f"DELETE FROM {staging.STAGING} WHERE n > :fits"), {"fits": fits})
        if fits:
            issuance.check_batch_caps(programme)
            issuance.issue_staged(programme, fits, fits, total, actor=actor, sqlite=sqlite)
            execute(text(
                "UPDATE voucher_eligibility_grants SET voucher_id = m.voucher_id FROM (SELECT e.identity_hash, "
                f"v.id AS voucher_id FROM {staging.STAGING} s JOIN voucher_eligibility e ON e.id = s.line "
                "JOIN vouchers v ON v.account_id = s.account_id) m WHERE voucher_eligibility_grants.programme_id = "
                ":programme AND voucher_eligibility_grants.identity_hash = m.identity_hash"), params)
            record("voucher.eligibility_issued", programme, actor=actor,
                   after={"programme": programme.slug, "vouchers": fits, "total_cents": total})
        # Claims the budget did not cover are given back, for a later run.
        execute(delete(EligibilityGrant).where(EligibilityGrant.programme_id == programme.id,
                                               EligibilityGrant.voucher_id.is_(None)))
        staging.drop_table()
    return fits, upto, short
