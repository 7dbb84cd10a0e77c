"""Redemption: a co-op's till or front desk spends part of a voucher on a service it gave.

This is the platform's busiest write, so it is raw SQL written once: on PostgreSQL ONE
data-modifying statement (REDEEM_PG) checks, locks and writes everything, in autocommit or
joining the caller's transaction; on SQLite a few statements (SQLITE_STATEMENTS) under the
BEGIN IMMEDIATE lock `transaction()` takes. bench/leastapp.py and the pgbench script of
bench/redemption.py run these very texts.

The tables its SQL writes, and the rule each write keeps in step with:
- voucher_transfers: one REDEEM transfer, voucher's account → organisation's account, and
- voucher_accounts: both balances, by relative updates, as `ledger.transfer` writes them
  (`flask ledger verify` recomputes every balance from the transfers);
- voucher_redemptions: the redemption, unsettled;
- voucher_book_figures: its programme's, month's, category's and co-op's running sums, by one
  upsert (vouchers/figures.py: the open books read them; `ledger verify` checks them);
- outbox_events: the holder's "voucher.redeemed" notice, the row `notifications.emit` writes;
- voucher_idempotency_keys: the answer under the till's key, in the one shape every write
  that takes a key stores (`idempotency.remembered`: the request's fingerprint and the answer).
It only reads the others (vouchers, programmes, accreditations, and the API token's account,
roles and membership).

Why not `ledger.transfer`, `emit` and `idempotency.once`: through them a redemption was BEGIN,
12 statements and COMMIT, 6.7 ms of CPU, 71% of it building and compiling ORM statements; as one
statement the app went from 0.16 to 0.88 of the least Flask app doing the same SQL (bench/README.md,
second round). tests/vouchers/test_redemption_paths.py holds both paths to one table of refusals,
the API's RedemptionBody and RedemptionAnswer, and the one shape of a key's row."""
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts import throttles
from app.database import autocommit_connection, in_transaction, run_raw, transaction, utcnow
from app.errors import DomainError, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_timezone, city_today, money
from app.i18n import day as written_day
from app.organisations.models import Organisation
from app.paging import KeysetPage, bound_keyset_query, bound_keyset_rows, keyset_page

from . import codes, idempotency, ledger
from .models import Account, AccountKind, Currency, Programme, Redemption, Voucher, VoucherStatus


class Gone(DomainError):
    status = 410
    code = "gone"


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


PIN_TRIES = 5
PIN_WINDOW = timedelta(minutes=15)


class Refused(DomainError):
    """A redemption refused with a precise, stable reason code."""


def redeem(typed_code: str, amount_cents: int, category: str, organisation: Organisation, *, actor,
           pin: str | None = None, idempotency_key: str | None = None,
           while_token_valid: str | None = None) -> RedemptionResult:
    """Redeem part or all of a voucher for a service given by `organisation`.

    Refusals, each with its own code and status: malformed or mistyped code
    (422), unknown code (404), organisation not accredited for the category
    that day or category outside the programme (403), expired or revoked (410),
    amount above what remains (409), wrong PIN (403), or five PINs typed for the
    voucher in a quarter of an hour (403 pin_locked). The voucher's row is
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
    local = now.astimezone(city_timezone())  # for the programme's weekdays and service hours
    params = {
        "code": code, "amount": amount_cents, "category": category, "org": organisation_id,
        "org_account_key": ledger.account_key(AccountKind.ORGANISATION, Currency.VOUCHER, organisation_id),
        "org_slug": organisation_slug, "org_name": organisation.name, "actor": actor.id,
        "scope": key_scope(organisation_id), "key": idempotency_key or None, "today": city_today(),
        "now": now, "at": now.isoformat(), "reference": f"voucher {code}",
        "pin_hash": Voucher.hash_pin(code, pin) if pin else None,
        "legacy_pin_hash": Voucher.legacy_pin_hash(code, pin) if pin else None, "token_hash": while_token_valid,
        "request": _fingerprint(code, amount_cents, category) if idempotency_key else None,
        "weekday": str(local.isoweekday()), "minute": local.hour * 60 + local.minute,
    }
    pin_key = _count_pin_try(code) if pin else None
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
                stored = idempotency.stored(params["scope"], idempotency_key)
                if stored is not None:
                    return _replay(stored.response, params)
            raise
        if outcome is not _NO_ORGANISATION_ACCOUNT:
            if pin_key:
                throttles.forgive(pin_key)
            return outcome
        # First redemption ever for this organisation: open its account, then redeem.
        ledger.ensure_account(AccountKind.ORGANISATION, Currency.VOUCHER, owner=organisation_id,
                              organisation_id=organisation_id)
    raise RuntimeError("the organisation's account could not be opened")


def _count_pin_try(code: str) -> str:
    """Count a PIN typed for this voucher, in its own transaction so that the refusal which rolls
    the redemption back still counts it (a right PIN takes its try back): five tries a quarter of
    an hour, whichever desks or tills they come from, so nobody can try the 10^4 PINs of a found
    or stolen voucher."""
    key = f"voucher-pin:{code}"
    if throttles.bump(key, PIN_WINDOW) > PIN_TRIES:
        raise NotAllowed(_l("Too many wrong PINs for this voucher: try again in a quarter of an hour."),
                         field="pin", code="pin_locked")
    return key


def key_scope(organisation_id: int) -> str:
    """Whose idempotency keys a redemption's key is among: its organisation's (tills and web desk)."""
    return f"org:{organisation_id}"


def _fingerprint(code: str, amount_cents: int, category: str) -> str:
    """What a retry must ask again to be answered the first answer: the same voucher, amount and
    category (the key's scope is the organisation)."""
    return idempotency.fingerprint({"code": code, "amount": amount_cents, "service_category": category})


_NO_ORGANISATION_ACCOUNT = object()


class AuthorisationLapsed(NotAllowed):
    """The API token, its account's role or its membership went away since the API cached them."""


# One statement: the stored answer for this key, else the voucher and its account locked together,
# every check as a column, and, only when all pass, the transfer, both balances, the redemption, the
# holder's notice (outbox row, as notifications.emit writes it) and the idempotency key (its response
# as idempotency.remembered shapes it: {"request": fingerprint, "answer": the answer}).
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
  SELECT v.id, v.status, v.valid_until, v.account_id, a.balance, v.programme_id,
         p.categories::jsonb ? %(category)s AS covered,
         coalesce(v.pin_hash, '') = '' OR coalesce(v.pin_hash IN (%(pin_hash)s, %(legacy_pin_hash)s), false) AS pin_ok,
         EXISTS (SELECT 1 FROM accreditations ac JOIN service_categories sc ON sc.id = ac.category_id
                 WHERE ac.organisation_id = %(org)s AND sc.slug = %(category)s AND ac.status = 'active'
                   AND ac.valid_from <= %(today)s AND ac.valid_until >= %(today)s) AS accredited,
         (SELECT oa.id FROM voucher_accounts oa WHERE oa.key = %(org_account_key)s) AS org_account_id,
         p.spend_from, p.spend_weekdays, p.spend_minutes_from, p.spend_minutes_until,
         coalesce(p.spend_from <= %(today)s, true) AS started,
         coalesce(strpos(p.spend_weekdays, %(weekday)s::text) > 0, true) AS on_day,
         coalesce(%(minute)s::int >= p.spend_minutes_from AND %(minute)s::int < p.spend_minutes_until, true) AS in_hours
  FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id
  JOIN voucher_programmes p ON p.id = v.programme_id
  WHERE v.code = %(code)s AND (SELECT authorised FROM auth) AND NOT EXISTS (SELECT 1 FROM stored)
  FOR UPDATE OF v, a
), ok AS (
  SELECT * FROM v WHERE status = 'active' AND valid_until >= %(today)s AND covered AND accredited AND pin_ok
    AND balance >= %(amount)s AND org_account_id IS NOT NULL AND started AND on_day AND in_hours
), t AS (
  INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, reference,
                                 reverses_id, actor_id, at)
  SELECT account_id, org_account_id, %(amount)s, 'voucher', 'redeem', %(reference)s, NULL, %(actor)s, %(now)s
  FROM ok RETURNING id
), debit AS (
  UPDATE voucher_accounts a SET balance = a.balance - %(amount)s FROM ok WHERE a.id = ok.account_id
), credit AS (
  UPDATE voucher_accounts a SET balance = a.balance + %(amount)s FROM ok WHERE a.id = ok.org_account_id
  RETURNING a.id
), r AS (
  INSERT INTO voucher_redemptions (voucher_id, organisation_id, transfer_id, category, amount_cents, actor_id,
                                   at, settlement_id)
  SELECT ok.id, %(org)s, t.id, %(category)s, %(amount)s, %(actor)s, %(now)s, NULL FROM ok, t RETURNING id
), figure AS (
  -- Read from `credit`: the co-op's account row is locked before its figures' row, in the order
  -- the settlement takes them (figures.count_settled), so the two never wait on each other.
  INSERT INTO voucher_book_figures (programme_id, month, category, organisation_id, issued_cents, vouchers_issued,
                                    redeemed_cents, redemptions, settled_cents)
  SELECT ok.programme_id, to_char(%(now)s::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM'), %(category)s, %(org)s,
         0, 0, %(amount)s, 1, 0 FROM ok, r, credit
  ON CONFLICT (programme_id, month, category, organisation_id) DO UPDATE
  SET redeemed_cents = voucher_book_figures.redeemed_cents + EXCLUDED.redeemed_cents,
      redemptions = voucher_book_figures.redemptions + 1
), notice AS (
  INSERT INTO outbox_events (kind, subject_type, subject_id, actor_id, context, recipients, status, "cursor",
                             created_at)
  SELECT 'voucher.redeemed', 'voucher', ok.id, %(actor)s,
         json_build_object('code', %(code)s::text, 'amount_cents', %(amount)s,
                           'remaining_cents', ok.balance - %(amount)s, 'organisation', %(org_name)s::text),
         '[]', 'pending', 0, %(now)s
  FROM ok
), answer AS (
  SELECT json_build_object('redemption_id', r.id, 'code', %(code)s::text, 'amount_cents', %(amount)s,
                           'remaining_cents', ok.balance - %(amount)s, 'organisation', %(org_slug)s::text,
                           'service_category', %(category)s::text, 'at', %(at)s::text) AS answer
  FROM ok, r
), k AS (
  INSERT INTO voucher_idempotency_keys (scope, key, status, response, at)
  SELECT %(scope)s, %(key)s, 201, json_build_object('request', %(request)s::text, 'answer', answer), %(now)s
  FROM answer WHERE %(key)s IS NOT NULL
)
SELECT (SELECT authorised FROM auth), (SELECT response FROM stored), (SELECT answer FROM answer),
       v.status, v.valid_until, v.covered, v.accredited, v.pin_ok, v.balance, v.org_account_id,
       v.spend_from, v.started, v.on_day, v.in_hours, v.spend_weekdays, v.spend_minutes_from, v.spend_minutes_until
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
       (SELECT oa.id FROM voucher_accounts oa WHERE oa.key = :org_account_key),
       p.spend_from, p.spend_weekdays, p.spend_minutes_from, p.spend_minutes_until, v.programme_id
FROM vouchers v JOIN voucher_accounts a ON a.id = v.account_id JOIN voucher_programmes p ON p.id = v.programme_id
WHERE v.code = :code""",
    "transfer": "INSERT INTO voucher_transfers (debit_account_id, credit_account_id, amount, currency, kind, "
                "reference, reverses_id, actor_id, at) VALUES (?, ?, ?, 'voucher', 'redeem', ?, NULL, ?, ?) "
                "RETURNING id",
    "debit": "UPDATE voucher_accounts SET balance = balance - ? WHERE id = ?",
    "credit": "UPDATE voucher_accounts SET balance = balance + ? WHERE id = ?",
    "redemption": "INSERT INTO voucher_redemptions (voucher_id, organisation_id, transfer_id, category, "
                  "amount_cents, actor_id, at, settlement_id) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) RETURNING id",
    "figure": "INSERT INTO voucher_book_figures (programme_id, month, category, organisation_id, issued_cents, "
              "vouchers_issued, redeemed_cents, redemptions, settled_cents) VALUES (?, ?, ?, ?, 0, 0, ?, 1, 0) "
              "ON CONFLICT (programme_id, month, category, organisation_id) DO UPDATE SET "
              "redeemed_cents = redeemed_cents + excluded.redeemed_cents, redemptions = redemptions + 1",
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
    (voucher_id, status, valid_until, pin_hash, account_id, balance, categories, accredited, org_account_id,
     spend_from, weekdays, minutes_from, minutes_until, programme_id) = row
    valid_until = date.fromisoformat(valid_until)
    pin_ok = not pin_hash or pin_hash in (params["pin_hash"], params["legacy_pin_hash"])
    covered = params["category"] in (json.loads(categories) if categories else [])
    spend_from = date.fromisoformat(spend_from) if spend_from else None
    schedule = (spend_from, spend_from is None or spend_from <= params["today"],
                weekdays is None or params["weekday"] in weekdays,
                minutes_from is None or minutes_from <= params["minute"] < minutes_until)
    if not (status == VoucherStatus.ACTIVE.value and valid_until >= params["today"] and covered and accredited
            and pin_ok and balance >= params["amount"] and org_account_id is not None and all(schedule[1:])):
        _refuse(params, status, valid_until, covered, accredited, pin_ok, balance, org_account_id, *schedule,
                weekdays, minutes_from, minutes_until)
        return _NO_ORGANISATION_ACCOUNT
    amount, actor_id, remaining = params["amount"], params["actor"], balance - params["amount"]
    at = params["now"].replace(tzinfo=None).isoformat(" ", "microseconds")  # as UTCDateTime stores it
    transfer_id = run(s["transfer"], (account_id, org_account_id, amount, params["reference"], actor_id,
                                      at)).fetchone()[0]
    run(s["debit"], (amount, account_id))
    run(s["credit"], (amount, org_account_id))
    redemption_id = run(s["redemption"], (voucher_id, params["org"], transfer_id, params["category"], amount,
                                          actor_id, at)).fetchone()[0]
    run(s["figure"], (programme_id, at[:7], params["category"], params["org"], amount))  # at: UTC, as stored
    run(s["notice"], (voucher_id, actor_id, json.dumps(
        {"code": params["code"], "amount_cents": amount, "remaining_cents": remaining,
         "organisation": params["org_name"]}), at))
    answer = {"redemption_id": redemption_id, "code": params["code"], "amount_cents": amount,
              "remaining_cents": remaining, "organisation": params["org_slug"],
              "service_category": params["category"], "at": params["at"]}
    if params["key"] is not None:
        run(s["key"], (params["scope"], params["key"], json.dumps(idempotency.remembered(params["request"], answer)),
                       at))
    return _answer(answer)


def _refuse(params: dict, status, valid_until, covered, accredited, pin_ok, balance, org_account_id,
            spend_from=None, started=True, on_day=True, in_hours=True, weekdays=None, minutes_from=None,
            minutes_until=None) -> None:
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
    if not started:
        raise Refused(_l("This programme's vouchers can be spent from %(day)s.", day=written_day(spend_from)),
                      field="code", code="not_yet_spendable")
    if not on_day:
        raise Refused(_l("This programme's vouchers can be spent only on these days: %(days)s.",
                         days=weekday_names(weekdays)), field="code", code="closed_day")
    if not in_hours:
        raise Refused(_l("This programme's vouchers can be spent only from %(start)s to %(end)s.",
                         start=clock(minutes_from), end=clock(minutes_until)), field="code",
                      code="outside_service_hours")
    if not pin_ok:
        raise NotAllowed(_l("The holder's PIN is not right."), field="pin", code="wrong_pin")
    if balance == 0:
        raise Refused(_l("This voucher has been spent entirely."), field="amount", code="exhausted")
    if params["amount"] > balance:
        raise Refused(_l("Only %(left)s remain on this voucher.", left=money(balance)),
                      field="amount", code="amount_exceeds_remaining")


def weekday_names(weekdays: str) -> str:
    """"135" → "Monday, Wednesday, Friday" in the reader's language."""
    names = get_day_names("wide", locale=get_locale() or "en")
    return ", ".join(names[int(d) - 1] for d in sorted(set(weekdays or "")))


def clock(minutes: int | None) -> str:
    """Minutes after midnight as a time of day: 510 → "08:30"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}" if minutes is not None else ""


def _answer(stored: dict) -> RedemptionResult:
    return RedemptionResult(stored["redemption_id"], stored["code"], stored["amount_cents"],
                            stored["remaining_cents"], stored["organisation"], stored["service_category"],
                            datetime.fromisoformat(stored["at"]))


def _replay(response: dict, params: dict) -> RedemptionResult:
    """A retry gets the first answer back, if it asks for the same redemption: a till that sent
    another code, amount or category under a used key must not believe that one was redeemed."""
    return replace(_answer(idempotency.replay(response, params["request"])), replayed=True)


@dataclass(frozen=True)
class RedemptionLine:
    """One of a co-op's redemptions as its desk and its till list them, read as a plain row: fifty
    ORM redemptions, each with its voucher and programme, were a fifth of the desk's time."""
    id: int
    at: datetime
    code: str                  # the voucher's
    category: str
    amount_cents: int
    refunded_cents: int
    settlement_id: int | None
    transfer_id: int
    refund_window_days: int    # the voucher's programme's (vouchers/refunds.py refund_closes_at)

    @property
    def refundable_cents(self) -> int:
        return self.amount_cents - self.refunded_cents


def organisation_redemptions(organisation: Organisation, *, before: str | None = None, after: str | None = None,
                             per_page: int = 50, page: int | None = None) -> KeysetPage:
    """A co-op's redemptions (RedemptionLine), newest first, paged by id along its (organisation, id) index."""
    query = bound_keyset_query(_redemptions_statement, {"organisation_id": organisation.id},
                               lambda result: [RedemptionLine(*row) for row in result])
    return keyset_page(query, lambda r: (r.id,), 1, before=before, after=after, per_page=per_page, page=page)


@lru_cache(maxsize=4)
def _redemptions_statement(keyed: bool, newer: bool):
    return bound_keyset_rows(
        select(Redemption.id, Redemption.at, Voucher.code, Redemption.category, Redemption.amount_cents,
               Redemption.refunded_cents, Redemption.settlement_id, Redemption.transfer_id,
               Programme.refund_window_days)
        .join(Voucher, Voucher.id == Redemption.voucher_id).join(Programme, Programme.id == Voucher.programme_id)
        .where(Redemption.organisation_id == bindparam("organisation_id")), Redemption.id, keyed, newer)


def organisation_redemption_count(organisation: Organisation) -> int:
    return db.session.execute(select(func.count(Redemption.id))
                              .where(Redemption.organisation_id == organisation.id)).scalar_one()


def organisation_balance(organisation: Organisation) -> int:
    """Redeemed and not yet settled, in cents."""
    key = ledger.account_key(AccountKind.ORGANISATION, Currency.VOUCHER, organisation.id)
    return db.session.execute(select(Account.balance).where(Account.key == key)).scalar_one_or_none() or 0
