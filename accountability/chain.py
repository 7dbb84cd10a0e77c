"""One need's public chain: the adopting vote, the tenders, contracts and payments answering it,
the voucher programmes and their redemptions (at the co-ops holding the contracts, and elsewhere),
the pacts, the result's timeline, progress and deadlines, and the money over time.

A fixed number of statements whatever the data (everything listed grows only with what answers
this need; lists that grow with use — payments, redemptions — are read as sums by day)."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.errors import NotFound
from app.extensions import db
from app.organisations.models import Organisation
from councils.models import Motion, PriorityNeed
from pacts.models import Pact
from procurement.models import Contract, Payment, Process
from vouchers.models import Programme, Redemption, Refund, Voucher

from .deadlines import need_answer_steps, tender_steps
from .models import LinkKind, Result, ResultKind, TimelineEntry
from .results import all_results, ocid_of

CHART_WIDTH, CHART_HEIGHT = 600, 200


@dataclass
class Chain:
    need: PriorityNeed
    motion: Motion
    result: object
    processes: list
    paid: dict               # contract id → cents paid
    programmes: list
    redemptions: list        # (organisation, cents, is a supplier)
    pacts: list
    entries: list
    deadlines: list
    chart: dict


def _links(result, kind) -> list[str]:
    return [link.partition(":")[2] for link in result.links if link.startswith(f"{kind}:")]


def _by_day(rows) -> dict:
    found = defaultdict(int)
    for on, cents in rows:
        if on is not None:
            found[on if isinstance(on, date) else date.fromisoformat(str(on)[:10])] += int(cents or 0)
    return found


def chart(series: dict) -> dict:
    """Cumulative lines for an inline SVG: {name: "x,y x,y …"}, with the axis' ends and top."""
    days = sorted({d for values in series.values() for d in values})
    if not days:
        return {"lines": {}, "top": 0, "first": None, "last": None}
    first, last = days[0], days[-1]
    span = max(1, (last - first).days)
    totals = {name: sum(values.values()) for name, values in series.items()}
    top = max(1, max(totals.values()))
    lines = {}
    for name, values in series.items():
        running, points = 0, [f"0,{CHART_HEIGHT}"]
        for day in days:
            running += values.get(day, 0)
            x = round((day - first).days * CHART_WIDTH / span, 1)
            points.append(f"{x},{round(CHART_HEIGHT - running * CHART_HEIGHT / top, 1)}")
        lines[name] = " ".join(points)
    return {"lines": lines, "top": top, "first": first, "last": last, "totals": totals,
            "width": CHART_WIDTH, "height": CHART_HEIGHT}


def chain(need_id: int) -> Chain:
    """Everything the chain page shows of one need (NotFound if there is none)."""
    need = db.session.get(PriorityNeed, need_id)
    if need is None:
        raise NotFound(_l("There is no such priority need."))
    motion = db.session.get(Motion, need.motion_id)
    [result] = all_results([ResultKind.NEED.value], [need_id])
    processes = db.session.execute(
        select(Process).where(Process.priority_need_id == need_id)
        .options(selectinload(Process.contract), selectinload(Process.award)).order_by(Process.id)).scalars().all()
    paid_rows = db.session.execute(
        select(Payment.contract_id, Payment.paid_on, func.sum(Payment.amount_cents))
        .join(Contract, Contract.id == Payment.contract_id).join(Process, Process.id == Contract.process_id)
        .where(Process.priority_need_id == need_id).group_by(Payment.contract_id, Payment.paid_on)).all()
    paid = defaultdict(int)
    for contract_id, _on, cents in paid_rows:
        paid[contract_id] += int(cents or 0)
    slugs = _links(result, LinkKind.PROGRAMME)
    programmes = db.session.execute(select(Programme).where(Programme.slug.in_(slugs)).order_by(Programme.id)
                                    ).scalars().all() if slugs else []
    programme_ids = [p.id for p in programmes]
    suppliers = {p.contract.supplier_id for p in processes if p.contract}
    redemptions, redeemed_by_day = [], []
    if programme_ids:
        # What the co-ops refunded is not redeemed: net of refunds, and on the chart on the refund's day.
        net = func.sum(Redemption.amount_cents - Redemption.refunded_cents)
        by_org = db.session.execute(
            select(Organisation, net)
            .join(Redemption, Redemption.organisation_id == Organisation.id)
            .join(Voucher, Voucher.id == Redemption.voucher_id).where(Voucher.programme_id.in_(programme_ids))
            .group_by(Organisation.id).order_by(net.desc()).limit(50)).all()
        redemptions = [(org, int(cents or 0), org.id in suppliers) for org, cents in by_org]
        redeemed_by_day = db.session.execute(
            select(func.date(Redemption.at), func.sum(Redemption.amount_cents))
            .join(Voucher, Voucher.id == Redemption.voucher_id).where(Voucher.programme_id.in_(programme_ids))
            .group_by(func.date(Redemption.at))).all()
        redeemed_by_day += [(on, -int(cents or 0)) for on, cents in db.session.execute(
            select(func.date(Refund.at), func.sum(Refund.amount_cents))
            .join(Redemption, Redemption.id == Refund.redemption_id).join(Voucher, Voucher.id == Redemption.voucher_id)
            .where(Voucher.programme_id.in_(programme_ids)).group_by(func.date(Refund.at)))]
    pact_ids = [int(p) for p in _links(result, LinkKind.PACT)]
    pacts = db.session.execute(select(Pact).where(Pact.id.in_(pact_ids)).order_by(Pact.id)).scalars().all() \
        if pact_ids else []
    row = db.session.execute(select(Result).where(Result.kind == ResultKind.NEED.value, Result.subject_id == need_id)
                             .options(selectinload(Result.entries).selectinload(TimelineEntry.recorded_by))).scalar_one_or_none()
    deadlines = need_answer_steps([need_id]) + tender_steps(need_id=need_id)
    series = {
        "committed": _by_day((p.contract.signed_on, p.contract.value_cents) for p in processes if p.contract),
        "paid": _by_day((on, cents) for _c, on, cents in paid_rows),
        "redeemed": _by_day(redeemed_by_day),
    }
    return Chain(need, motion, result, processes, paid, programmes, redemptions, pacts,
                 row.entries if row else [], deadlines, chart(series))


def process_ocid(process) -> str:
    return ocid_of(process.reference)
