"""Offline allowances: what a co-op's desk may sell from a voucher without a connection, signed by the city.

An allowance is four facts about one voucher, written as ASCII text and signed with the city's Ed25519
key (the file `PROCOMUN_OFFLINE_KEY_FILE`, never in the database):

    PCV1.<code>.<most cents offline>.<offline sales a day>.<last day, YYYY-MM-DD>

e.g. `PCV1.ABCD-EFGH-JKMN.5000.1.2026-12-20`. These exact bytes are what is signed; the voucher's QR
code carries them followed by `.` and the 64-byte signature in unpadded base64url. A desk that has the
city's public key (written into the desk page) checks the signature in the browser and sells offline
within those limits only; a code typed by hand carries no allowance and is not sold offline.

When the desk is back online each queued sale arrives here once (`record_offline_sale`, one row per
organisation and idempotency key). Within its allowance it is redeemed from the voucher as an online
sale would be; if meanwhile the voucher was spent elsewhere, revoked or expired, the city still pays
the co-op, from the programme's offline-risk account (a ledger account funded from the pool), and
tells the holder. A sale beyond its allowance (too much, too many that day, after its last day, a
forged signature) is refused and the desk shows why."""
import base64
import binascii
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from app.audit.operations import record, snapshot
from app.database import is_sqlite, transaction, utcnow
from app.errors import DomainError, Invalid
from app.extensions import db
from app.i18n import city_timezone, city_today, money
from app.notifications.operations import emit
from app.organisations.models import Organisation

from . import codes, figures, ledger, redemption
from .models import (
    MAX_CENTS,
    Account,
    AccountKind,
    Currency,
    OfflineOutcome,
    OfflineSale,
    Programme,
    TransferKind,
    Voucher,
)

PREFIX = "PCV1"
_TEXT = re.compile(r"^PCV1\.([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})\.(\d{1,12})\.(\d{1,3})\.(\d{4}-\d{2}-\d{2})$")
KEY = re.compile(r"^[A-Za-z0-9_-]{8,80}$")
# What the voucher met meanwhile that the city's risk budget covers: not the co-op's doing.
CONFLICTS = {"revoked", "expired", "exhausted", "amount_exceeds_remaining"}
MAX_DAYS = 31  # an allowance holds for days, not months


class AllowanceRefused(DomainError):
    """An offline sale the allowance does not cover (422), with a stable reason code."""
    status = 422
    code = "beyond_allowance"


@dataclass(frozen=True)
class Allowance:
    code: str
    max_cents: int
    sales_per_day: int
    expires_on: date

    @property
    def text(self) -> str:
        """The canonical bytes that are signed (ASCII)."""
        return f"{PREFIX}.{self.code}.{self.max_cents}.{self.sales_per_day}.{self.expires_on.isoformat()}"


# Keys ------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _load_key(path: str) -> Ed25519PrivateKey:
    content = Path(path).read_bytes()
    if content.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(content, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return key
    return Ed25519PrivateKey.from_private_bytes(binascii.unhexlify(content.strip()))


def _private_key() -> Ed25519PrivateKey:
    return _load_key(current_app.config["PROCOMUN_OFFLINE_KEY_FILE"])


def public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def public_key_text() -> str:
    """The city's public key as the desk page carries it: its 32 raw bytes, unpadded base64url."""
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64(raw)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """The bytes `_b64` spelled as `text`; ValueError for any other spelling, even of the same bytes
    (a last character's unused bits changed): one signature, one text."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError(text)
    return raw


# Signing and reading -------------------------------------------------------------------------

def allowance_for(voucher: Voucher, today: date | None = None) -> Allowance | None:
    """The allowance the city signs for this voucher today, or None (the programme allows no offline
    sale, or no desk would take the voucher now). It never allows more than the voucher holds now,
    nor beyond the voucher's last day."""
    today = today or city_today()
    programme = voucher.programme
    if programme.offline_allowance_cents <= 0 or voucher.state_on(today) != "active":
        return None
    expires_on = min(today + timedelta(days=programme.offline_validity_days), voucher.valid_until)
    return Allowance(voucher.code, min(programme.offline_allowance_cents, voucher.remaining_cents),
                     programme.offline_sales_per_day, expires_on)


def sign(allowance: Allowance) -> str:
    """What the QR code carries: the allowance's text, `.`, its signature."""
    return f"{allowance.text}.{_b64(_private_key().sign(allowance.text.encode('ascii')))}"


def qr_text(voucher: Voucher) -> str:
    """The voucher's QR content: its code with a freshly signed allowance, or its code alone."""
    allowance = allowance_for(voucher)
    return sign(allowance) if allowance else voucher.code


def code_in(typed: str | None) -> str | None:
    """The voucher code in what a desk's code field received: a QR code's whole text (code and
    allowance, as a scanner types it) gives its code; anything else is left as typed."""
    if typed and typed.strip().startswith(PREFIX + "."):
        parts = typed.strip().split(".")
        return parts[1] if len(parts) > 2 else typed
    return typed


def verified(signed_text: str) -> Allowance:
    """The allowance in a QR code's text, if the city signed it; AllowanceRefused ("forged") else."""
    text, _, signature = (signed_text or "").strip().rpartition(".")
    match = _TEXT.match(text)
    if match is None:
        raise AllowanceRefused(_l("This is not a voucher's offline allowance."), field="allowance", code="forged")
    try:
        public_key().verify(_unb64(signature), text.encode("ascii"))
    except (InvalidSignature, ValueError, binascii.Error):
        raise AllowanceRefused(_l("This offline allowance was not signed by the city."), field="allowance",
                               code="forged") from None
    code, most, per_day, last_day = match.groups()
    return Allowance(code, int(most), int(per_day), date.fromisoformat(last_day))


# Programme terms ---------------------------------------------------------------------------

def risk_account(programme: Programme) -> Account:
    return ledger.ensure_account(AccountKind.OFFLINE_RISK, Currency.VOUCHER, owner=programme.id)


def risk_paid(programme: Programme) -> int:
    """What the programme's offline-risk budget has paid co-ops, in cents."""
    key = ledger.account_key(AccountKind.OFFLINE_RISK, Currency.VOUCHER, programme.id)
    account_id = db.session.execute(select(Account.id).where(Account.key == key)).scalar_one_or_none()
    return figures.flow_total(account_id, TransferKind.OFFLINE_RISK)[0]


def set_offline_terms(programme: Programme, *, allowance_cents: int, sales_per_day: int, validity_days: int,
                      risk_budget_cents: int, actor) -> Programme:
    """Set what a voucher of the programme may spend offline and the budget that covers conflicts.

    The budget is the total the programme may ever pay for honoured conflicts: raising it moves the
    difference from the pool to the programme's offline-risk account, lowering it moves it back, and it
    cannot go below what has been paid already."""
    if not (0 <= allowance_cents <= MAX_CENTS):
        raise Invalid(_l("The offline allowance must be zero or more."), field="allowance")
    if not (1 <= sales_per_day <= 20):
        raise Invalid(_l("Allow from 1 to 20 offline sales a day."), field="sales_per_day")
    if not (1 <= validity_days <= MAX_DAYS):
        raise Invalid(_l("An allowance holds from 1 to %(days)s days.", days=MAX_DAYS), field="validity_days")
    if not (0 <= risk_budget_cents <= MAX_CENTS):
        raise Invalid(_l("The offline-risk budget must be zero or more."), field="risk_budget")
    with transaction():
        if not is_sqlite():
            db.session.execute(select(Programme.id).where(Programme.id == programme.id).with_for_update())
        before = snapshot(programme, ["offline_allowance_cents", "offline_sales_per_day", "offline_validity_days",
                                      "offline_risk_budget_cents"])
        paid = risk_paid(programme)
        if risk_budget_cents < paid:
            raise Invalid(_l("The budget has already paid %(paid)s: it cannot be lower.", paid=money(paid)),
                          field="risk_budget")
        change = risk_budget_cents - programme.offline_risk_budget_cents
        account = risk_account(programme)
        if change > 0:
            ledger.transfer(ledger.pool(), account, change, TransferKind.FUND, actor=actor,
                            reference=f"offline-risk budget of {programme.slug}")
        elif change < 0:
            ledger.transfer(account, ledger.pool(), -change, TransferKind.FUND, actor=actor,
                            reference=f"offline-risk budget of {programme.slug} lowered")
        programme.offline_allowance_cents = allowance_cents
        programme.offline_sales_per_day = sales_per_day
        programme.offline_validity_days = validity_days
        programme.offline_risk_budget_cents = risk_budget_cents
        db.session.flush()
        record("voucher_programme.offline_terms", programme, actor=actor, before=before,
               after=snapshot(programme, list(before)))
    return programme


# Sales arriving from offline desks ------------------------------------------------------------

def sale_by_key(organisation_id: int, key: str) -> OfflineSale | None:
    return db.session.execute(select(OfflineSale).where(
        OfflineSale.organisation_id == organisation_id, OfflineSale.key == key)).scalar_one_or_none()


def record_offline_sale(organisation, *, actor, allowance_text: str, amount_cents: int, category: str,
                        key: str, offline_at: datetime) -> tuple[OfflineSale, bool]:
    """Settle one sale a desk made offline, exactly once per (organisation, key): returns the sale and
    whether it had arrived before (a retry, another tab). Guarantees: a forged allowance, a sale after
    its last day, above its amount or beyond its sales a day (counting every sale already received
    under it, the voucher's row locked) is refused; within it, the voucher is charged as online, or,
    if it was spent elsewhere, revoked or expired meanwhile, the co-op is paid from the programme's
    offline-risk account and the holder told; one audit entry either way."""
    if not isinstance(key, str) or not KEY.match(key):
        raise Invalid(_l("Each offline sale needs its own key (8 to 80 letters, digits, - or _)."), field="key")
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or not 0 < amount_cents <= MAX_CENTS:
        raise Invalid(_l("The amount must be a whole number of cents above zero."), field="amount")
    if offline_at.tzinfo is None or offline_at > utcnow() + timedelta(days=1):
        raise Invalid(_l("The time of the offline sale is not a time it could have been made."), field="offline_at")
    earlier = sale_by_key(organisation.id, key)
    if earlier is not None:
        return _same_request(earlier, allowance_text, amount_cents, category), True
    allowance = verified(allowance_text)
    try:
        with transaction():
            sale = OfflineSale(organisation_id=organisation.id, key=key, code=allowance.code, amount_cents=amount_cents,
                               category=str(category or "")[:60], allowance=allowance_text.strip()[:300],
                               offline_at=offline_at, synced_at=utcnow(), outcome=OfflineOutcome.REFUSED.value,
                               reason="", actor_id=actor.id)
            db.session.add(sale)
            db.session.flush()  # a second tab's same sale stops here, on (organisation_id, key)
            _settle(sale, allowance, organisation, actor)
            record("voucher_offline_sale.received", sale, actor=actor,
                   after=snapshot(sale, ["code", "amount_cents", "offline_at", "outcome", "reason", "redemption_id",
                                         "transfer_id"]))
    except IntegrityError:
        db.session.rollback()
        earlier = sale_by_key(organisation.id, key)
        if earlier is None:
            raise
        return _same_request(earlier, allowance_text, amount_cents, category), True
    return sale, False


def _same_request(sale: OfflineSale, allowance_text: str, amount_cents: int, category: str) -> OfflineSale:
    if sale.allowance != (allowance_text or "").strip()[:300] or sale.amount_cents != amount_cents \
            or sale.category != str(category or "")[:60]:
        raise Invalid(_l("This key was already used for another offline sale."), field="key",
                      code="idempotency_key_reused")
    return sale


def _settle(sale: OfflineSale, allowance: Allowance, organisation, actor) -> None:
    voucher_query = select(Voucher).where(Voucher.code == codes.normalise(allowance.code))
    if not is_sqlite():
        voucher_query = voucher_query.with_for_update(of=Voucher)
    voucher = db.session.execute(voucher_query).scalar_one_or_none()
    if voucher is None:
        sale.reason = "unknown_code"
        return
    sale.voucher_id, sale.programme_id = voucher.id, voucher.programme_id
    sale.reason = _beyond(sale, allowance)
    if sale.reason:
        return
    try:
        result = redemption.redeem(allowance.code, sale.amount_cents, sale.category, organisation, actor=actor,
                                   idempotency_key=f"offline:{sale.key}")
    except DomainError as refusal:
        if refusal.code not in CONFLICTS:
            sale.reason = refusal.code or "refused"
            return
        _honour(sale, allowance, voucher, organisation, actor, refusal.code)
        return
    sale.outcome, sale.redemption_id = OfflineOutcome.REDEEMED.value, result.redemption_id


def _beyond(sale: OfflineSale, allowance: Allowance) -> str:
    """Why the allowance does not cover this sale ("" when it does)."""
    sold_on = sale.offline_at.astimezone(city_timezone()).date()
    if sold_on > allowance.expires_on:
        return "allowance_expired"
    covered = (OfflineSale.allowance == sale.allowance, OfflineSale.id != sale.id,
               OfflineSale.outcome != OfflineOutcome.REFUSED.value)
    spent = db.session.execute(select(func.coalesce(func.sum(OfflineSale.amount_cents), 0)).where(*covered)
                               ).scalar_one()
    if spent + sale.amount_cents > allowance.max_cents:
        return "beyond_allowance"
    # Sales a day count every allowance of the voucher: a QR refreshed twice a day gives no more.
    zone = city_timezone()
    same_day = [at for (at,) in db.session.execute(select(OfflineSale.offline_at).where(
                    OfflineSale.code == sale.code, OfflineSale.id != sale.id,
                    OfflineSale.outcome != OfflineOutcome.REFUSED.value))
                if at.astimezone(zone).date() == sold_on]
    if len(same_day) >= allowance.sales_per_day:
        return "too_many_today"
    return ""


def _honour(sale: OfflineSale, allowance: Allowance, voucher: Voucher, organisation, actor, conflict: str) -> None:
    """The city's risk: pay the co-op from the programme's offline-risk account, if it still holds enough,
    and never more for one voucher, whichever of its allowances the sales came under, than one allowance."""
    honoured = db.session.execute(select(func.coalesce(func.sum(OfflineSale.amount_cents), 0)).where(
        OfflineSale.voucher_id == voucher.id, OfflineSale.outcome == OfflineOutcome.HONOURED.value)).scalar_one()
    if honoured + sale.amount_cents > allowance.max_cents:
        sale.reason = "beyond_allowance"
        return
    account = risk_account(voucher.programme)
    if not is_sqlite():
        db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    db.session.refresh(account, ["balance"])
    if account.balance < sale.amount_cents:
        sale.reason = "risk_budget_spent"
        return
    sale.transfer_id = ledger.transfer(account, ledger.organisation_account(organisation), sale.amount_cents,
                                       TransferKind.OFFLINE_RISK, actor=actor,
                                       reference=f"offline sale of voucher {voucher.code}: {conflict}")
    sale.outcome, sale.reason = OfflineOutcome.HONOURED.value, conflict
    emit("voucher.offline_honoured", "voucher", voucher.id, actor=actor, code=voucher.code,
         amount_cents=sale.amount_cents, organisation=organisation.name)


REASONS = {
    "forged": _l("This offline allowance was not signed by the city."),
    "unknown_code": _l("No voucher has this code."),
    "allowance_expired": _l("The sale was made after the last day of the voucher's offline allowance."),
    "beyond_allowance": _l("The sale goes beyond the amount the voucher's offline allowance covers."),
    "too_many_today": _l("The voucher's offline allowance covers no more sales that day."),
    "risk_budget_spent": _l("The programme's offline-risk budget cannot cover this sale."),
    "category_not_covered": _l("This voucher does not pay for this service category."),
    "not_accredited": _l("Your organisation is not accredited for this service today."),
    "wrong_pin": _l("The holder's PIN is not right."),
    "revoked": _l("The voucher had been revoked: the city pays this sale from its offline-risk budget."),
    "expired": _l("The voucher had expired: the city pays this sale from its offline-risk budget."),
    "exhausted": _l("The voucher had been spent elsewhere: the city pays this sale from its offline-risk budget."),
    "amount_exceeds_remaining": _l("The voucher had been spent elsewhere: the city pays this sale from its "
                                   "offline-risk budget."),
}


def reason_text(reason: str) -> str:
    return str(REASONS.get(reason, _l("The sale was refused.")))


def sale_answer(sale: OfflineSale, replayed: bool) -> dict:
    """What the desk is told about a queued sale it sent."""
    return {"key": sale.key, "outcome": sale.outcome, "reason": sale.reason,
            "message": reason_text(sale.reason) if sale.reason else "", "code": sale.code,
            "amount_cents": sale.amount_cents, "redemption_id": sale.redemption_id,
            "offline_at": sale.offline_at.isoformat(), "synced_at": sale.synced_at.isoformat(),
            "replayed": replayed}


# What officials see -------------------------------------------------------------------------

@dataclass
class ProgrammeOffline:
    programme: Programme
    paid_cents: int
    left_cents: int


def programme_figures() -> list[ProgrammeOffline]:
    rows = []
    for programme in db.session.execute(select(Programme).order_by(Programme.name)).scalars():
        key = ledger.account_key(AccountKind.OFFLINE_RISK, Currency.VOUCHER, programme.id)
        left = db.session.execute(select(Account.balance).where(Account.key == key)).scalar_one_or_none() or 0
        rows.append(ProgrammeOffline(programme, risk_paid(programme), left))
    return rows


def organisation_figures() -> list:
    """Per co-op: offline sales received, their value, and how many were honoured or refused."""
    honoured = func.sum(case((OfflineSale.outcome == OfflineOutcome.HONOURED.value, 1), else_=0))
    refused = func.sum(case((OfflineSale.outcome == OfflineOutcome.REFUSED.value, 1), else_=0))
    return db.session.execute(
        select(Organisation.name, func.count(OfflineSale.id), func.sum(OfflineSale.amount_cents), honoured, refused)
        .join(Organisation, Organisation.id == OfflineSale.organisation_id)
        .group_by(Organisation.name).order_by(Organisation.name)).all()


def conflicts(page: int = 1):
    """Offline sales honoured from a risk budget or refused, newest first."""
    return db.paginate(select(OfflineSale).where(OfflineSale.outcome != OfflineOutcome.REDEEMED.value)
                       .order_by(OfflineSale.id.desc()), page=page, per_page=50, error_out=False)


def repeated_conflicts(at_least: int = 2) -> list:
    """Vouchers whose offline sales met a conflict `at_least` times: an alert for officials."""
    return db.session.execute(
        select(OfflineSale.code, func.count(OfflineSale.id)).where(OfflineSale.outcome == OfflineOutcome.HONOURED.value)
        .group_by(OfflineSale.code).having(func.count(OfflineSale.id) >= at_least)
        .order_by(func.count(OfflineSale.id).desc())).all()


def honoured_unsettled(start_at: datetime, end_at: datetime) -> tuple:
    """The conditions of the honoured offline sales received in a period and not yet settled: the
    settlement pays them to their co-ops beside the redemptions."""
    return (OfflineSale.outcome == OfflineOutcome.HONOURED.value, OfflineSale.settlement_id.is_(None),
            OfflineSale.synced_at >= start_at, OfflineSale.synced_at < end_at)

