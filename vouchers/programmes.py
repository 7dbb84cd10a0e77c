"""Programmes: a budget from the collective pool, its service categories, its income scale and
its figures."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.i18n import city_today, day, money
from app.organisations import operations as organisations
from app.states import StateMachine

from . import figures, ledger
from .models import MAX_CENTS, AccountKind, Currency, Programme, ProgrammeStatus, TransferKind

SLUG = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")

PROGRAMME_STATES = StateMachine({
    ProgrammeStatus.OPEN: {ProgrammeStatus.CLOSED},
    ProgrammeStatus.CLOSED: set(),
}, labels={s: s.label for s in ProgrammeStatus})


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


def scale_steps(rows: list) -> list:
    """The income scale from the rows an official typed, [income up to (cents) or None, amount
    (cents) or None] each, as stored: blank rows dropped; a row with no income, only as the
    last one, covers every income above. A refusal names its row (field "scale-<i>-<column>",
    i counting the rows as typed, blank ones too)."""
    typed = [(i, limit, amount) for i, (limit, amount) in enumerate(rows or [])
             if limit is not None or amount is not None]
    steps, previous = [], None
    for position, (i, limit, amount) in enumerate(typed):
        if amount is None:
            raise Invalid(_l("Give the voucher amount for this income."), field=f"scale-{i}-amount")
        if not isinstance(amount, int) or not 0 <= amount <= MAX_CENTS:
            raise Invalid(_l("The amount must be zero or more, and at most %(max)s.", max=money(MAX_CENTS)),
                          field=f"scale-{i}-amount")
        if limit is None and position != len(typed) - 1:
            raise Invalid(_l("Only the last row may leave the income empty: it covers every income above "
                             "the rows before it."), field=f"scale-{i}-income_up_to")
        if limit is not None and not 0 <= limit <= MAX_CENTS:
            raise Invalid(_l("The income must be zero or more, and at most %(max)s.", max=money(MAX_CENTS)),
                          field=f"scale-{i}-income_up_to")
        if limit is not None and previous is not None and limit <= previous:
            raise Invalid(_l("Each row's income must be above the row before it (%(income)s).",
                             income=money(previous)), field=f"scale-{i}-income_up_to")
        previous = limit if limit is not None else previous
        steps.append([limit, amount])
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
    if valid_until < city_today():
        raise Invalid(_l("The end of validity is already past: a programme is opened for days to come."),
                      field="valid_until")
    valid_from = valid_from or city_today()
    if valid_until < valid_from:
        raise Invalid(_l("The end of validity must come after its start, %(day)s.", day=day(valid_from)),
                      field="valid_until")
    scale = scale_steps(scale)
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
    """Issued, redeemed (net of the co-ops' refunds), expired and unissued amounts of one programme,
    from its running sums."""
    issued, redeemed, counts = figures.programme_totals(programme.id)
    return {"unissued": ledger.balance(programme.account), "issued": issued, "redeemed": redeemed,
            "vouchers": counts}
