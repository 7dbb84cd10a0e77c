"""Letters by post (issue #23): the people on a programme's eligibility list who have a postal address
and no email get their voucher on paper.

A letter's voucher is issued without a holder, once per person per programme (the same grant row
`eligibility.grant` writes, so verifying later gives no second voucher), within the programme's
budget. The letter carries the voucher's code, which any accredited desk takes as it is, and an
activation code: whoever has the letter can attach the voucher to their account with it, then see
its balance and set a PIN. The activation code is random, kept only as a keyed hash, made afresh each
time the letter is printed (the one printed before stops working) and used once."""
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.accounts import throttles
from app.audit.operations import record
from app.database import is_sqlite, transaction, utcnow
from app.errors import Invalid
from app.extensions import db
from app.i18n import money

from . import codes, figures, issuance, ledger, letter_documents
from .eligibility_models import EligibilityEntry, EligibilityGrant, Letter
from .models import Account, AccountKind, Currency, Programme, ProgrammeStatus, Voucher, VoucherStatus

ISSUE_PAGE = 500          # list entries issued per transaction
PRINT_BATCH = 100         # letters laid out by WeasyPrint at once: 500 peaked at 510 MB, 100 at about 240 MB
ACTIVATION_TRIES = 5      # per account and per hour (a code has 64 random bits: the limit stops scripts)
ACTIVATION_WINDOW = timedelta(hours=1)


@dataclass
class LetterIssue:
    issued: int = 0
    total_cents: int = 0
    over_budget: int = 0   # recipients left without a letter: the programme's budget ran out


def activation_hash(code: str) -> str:
    """What a letter keeps of its activation code: keyed by the site's secret, so a copy of the
    database alone cannot be used to activate anyone's letter."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), f"letter-activation:{code}".encode(),
                    hashlib.sha256).hexdigest()


def _recipients(programme: Programme, after: int, limit: int):
    """The next entries of the list with a postal address, no email and no voucher from the programme yet."""
    return db.session.execute(
        select(EligibilityEntry.id, EligibilityEntry.identity_hash, EligibilityEntry.amount_cents,
               EligibilityEntry.postal_address, EligibilityEntry.language)
        .where(EligibilityEntry.programme_id == programme.id, EligibilityEntry.id > after,
               EligibilityEntry.email.is_(None), EligibilityEntry.postal_address.is_not(None),
               ~select(EligibilityGrant.id).where(EligibilityGrant.programme_id == programme.id,
                                                  EligibilityGrant.identity_hash == EligibilityEntry.identity_hash)
               .exists())
        .order_by(EligibilityEntry.id).limit(limit)).all()


def issue_letters(programme: Programme, *, actor) -> LetterIssue:
    """Issue a holder-less voucher and its letter to every person on the programme's list with a postal
    address and no email who has not had the programme's voucher, in list order, until the budget runs
    out (the rest are counted, not issued). One transaction per page of the list, each ONE issue entry
    under the programme account's row lock; the grant rows go in first (ON CONFLICT DO NOTHING), so a
    person verifying their account at the same moment gets one voucher, never two."""
    issuance.check_programme_issuable(programme, programme.valid_until)
    result, after = LetterIssue(), 0
    insert = sqlite_insert if is_sqlite() else pg_insert
    while True:
        page = _recipients(programme, after, ISSUE_PAGE)
        if not page:
            return result
        after = page[-1].id
        with transaction():
            available = db.session.execute(select(Account.balance).where(Account.id == programme.account_id)
                                           .with_for_update()).scalar_one()
            fitting, total = [], 0
            for entry in page:
                if total + entry.amount_cents > available:
                    result.over_budget += 1
                    continue
                fitting.append(entry)
                total += entry.amount_cents
            granted = set(db.session.execute(
                insert(EligibilityGrant).values([{"programme_id": programme.id, "identity_hash": e.identity_hash,
                                                  "at": utcnow()} for e in fitting])
                .on_conflict_do_nothing(index_elements=["programme_id", "identity_hash"])
                .returning(EligibilityGrant.identity_hash)).scalars()) if fitting else set()
            fitting = [e for e in fitting if e.identity_hash in granted]
            if not fitting:
                continue
            total = sum(e.amount_cents for e in fitting)
            _issue_page(programme, fitting, total, actor)
            result.issued += len(fitting)
            result.total_cents += total


def _issue_page(programme: Programme, entries, total: int, actor) -> None:
    entry_id = ledger.batch_issue_entry(programme.account, total, len(entries), actor=actor)
    accounts = [Account(key=None, kind=AccountKind.VOUCHER.value, currency=Currency.VOUCHER.value,
                        balance=e.amount_cents) for e in entries]
    db.session.add_all(accounts)
    db.session.flush()
    # A code already taken (1 chance in 10^10 per voucher) fails the page's insert and rolls it back:
    # running the command again issues the page anew.
    issued_at = utcnow()
    vouchers = [Voucher(code=code, programme_id=programme.id, holder_id=None, account_id=account.id,
                        value_cents=e.amount_cents, valid_until=programme.valid_until,
                        status=VoucherStatus.ACTIVE.value, issue_transfer_id=entry_id, issued_at=issued_at)
                for e, account, code in zip(entries, accounts, codes.new_codes(len(entries)))]
    db.session.add_all(vouchers)
    db.session.flush()
    figures.count_issued(programme.id, issued_at, total, len(entries))   # the open books' running sums
    db.session.add_all([Letter(voucher_id=v.id, programme_id=programme.id, postal_address=e.postal_address,
                               language=e.language) for e, v in zip(entries, vouchers)])
    grants = EligibilityGrant.__table__
    db.session.execute(grants.update().where(grants.c.programme_id == programme.id,
                                             grants.c.identity_hash == bindparam("h"))
                       .values(voucher_id=bindparam("v")),
                       [{"h": e.identity_hash, "v": v.id} for e, v in zip(entries, vouchers)])
    record("voucher.letters_issued", programme, actor=actor,
           after={"programme": programme.slug, "letters": len(entries), "total_cents": total,
                  "first_voucher_id": vouchers[0].id, "last_voucher_id": vouchers[-1].id})


def letters_to_print(programme: Programme, after: int, limit: int) -> list[Letter]:
    """The next letters still waiting for their holder whose voucher a desk would take, in order."""
    return db.session.execute(
        select(Letter).join(Voucher, Voucher.id == Letter.voucher_id)
        .where(Letter.programme_id == programme.id, Letter.id > after, Letter.activated_at.is_(None),
               Voucher.holder_id.is_(None), Voucher.status == VoucherStatus.ACTIVE.value)
        .order_by(Letter.id).limit(limit)).scalars().all()


def _keep_activation_codes(letters: list[Letter], fresh: list[str]) -> None:
    """Keep the hash of each letter's fresh activation code: the one printed before no longer works."""
    now = utcnow()
    with transaction():
        table = Letter.__table__
        db.session.execute(table.update().where(table.c.id == bindparam("letter"), table.c.activated_at.is_(None))
                           .values(activation_hash=bindparam("h"), printed_at=now),
                           [{"letter": letter.id, "h": activation_hash(code)} for letter, code in zip(letters, fresh)])


def print_letters(programme: Programme, out, *, actor, batch: int = PRINT_BATCH) -> tuple[int, LetterIssue]:
    """Write into `out` (a binary file) one page per letter of the programme still waiting for its
    holder, issuing first the letters of the list's new recipients (while the programme is open).
    Each letter has only its own codes; each printed letter gets a fresh activation code. Memory
    holds one batch of `batch` letters; returns how many letters were printed, and what was issued."""
    issued = issue_letters(programme, actor=actor) if programme.status == ProgrammeStatus.OPEN else LetterIssue()
    stream, printed, after = None, 0, 0
    while letters := letters_to_print(programme, after, batch):
        after = letters[-1].id
        fresh = list(codes.new_codes(len(letters)))
        pdf = letter_documents.batch_pdf(letter_documents.batch_html(
            [letter_documents.letter_html(letter, code) for letter, code in zip(letters, fresh)]), len(letters))
        _keep_activation_codes(letters, fresh)   # only once the batch rendered: a failure keeps the old codes
        stream = stream or letter_documents.PdfStream(out)
        printed += stream.add(pdf)
    if stream is None:
        raise Invalid(_l("No letter to print: nobody on the list is waiting for a voucher by post."),
                      field="programme", code="no_letters")
    stream.close()
    with transaction():
        record("voucher.letters_printed", programme, actor=actor,
               after={"programme": programme.slug, "letters": printed})
    return printed, issued


def activate(user, typed_code: str, pin: str | None = None) -> Voucher:
    """Attach the voucher of the letter whose activation code `user` typed to their account and, if
    given, set its PIN (the desk then asks for it). Throttled per account; each code works once; of
    two people typing the same code at once, one gets the voucher (the holder is set only where
    there is none yet, under the voucher's row lock). The holder cap of the programme applies."""
    if pin and not re.fullmatch(r"\d{4,6}", pin):
        raise Invalid(_l("A PIN is four to six digits."), field="pin")
    key = f"letter-activation:{user.id}"
    if throttles.bump(key, ACTIVATION_WINDOW) > ACTIVATION_TRIES:
        raise Invalid(_l("Too many attempts: try again in an hour."), field="code", code="too_many_attempts")
    try:
        code = codes.normalise(typed_code)
    except codes.CodeError:
        raise Invalid(_l("An activation code has twelve characters, like ABCD-EFGH-JKMN; check each one."),
                      field="code", code="bad_code") from None
    with transaction():
        letter = db.session.execute(select(Letter).where(Letter.activation_hash == activation_hash(code))
                                    .with_for_update(of=Letter)).scalar_one_or_none()
        if letter is None:
            raise Invalid(_l("No letter waiting for activation has this code. Check it, or use the newest "
                             "letter you received."), field="code", code="unknown_code")
        voucher = letter.voucher
        programme = voucher.programme
        # The programme's row lock, as every issuance takes it: the holder cap is checked on a sum
        # no other issuance or activation of the programme changes meanwhile.
        db.session.execute(select(Account.id).where(Account.id == programme.account_id).with_for_update())
        cap, held = programme.max_open_cents_per_holder, issuance.open_value(programme, user)
        if cap is not None and held + voucher.remaining_cents > cap:
            raise Invalid(_l("You may have at most %(cap)s open in this programme, and you already have %(held)s: "
                             "this voucher can still be spent at a desk with its letter.",
                             cap=money(cap), held=money(held)), field="code", code=issuance.HOLDER_CAP)
        taken = db.session.execute(
            update(Voucher).where(Voucher.id == voucher.id, Voucher.holder_id.is_(None))
            .values(holder_id=user.id, pin_hash=Voucher.hash_pin(voucher.code, pin) if pin else Voucher.pin_hash)
            .execution_options(synchronize_session=False)).rowcount
        if taken != 1:
            raise Invalid(_l("No letter waiting for activation has this code. Check it, or use the newest "
                             "letter you received."), field="code", code="unknown_code")
        letter.activation_hash, letter.activated_at, letter.activated_by_id = None, utcnow(), user.id
        record("voucher.letter_activated", voucher, actor=user,
               after={"code": voucher.code, "holder_id": user.id, "pin_set": bool(pin)})
    throttles.forgive(key)
    db.session.refresh(voucher)
    return voucher
