"""After bidding closes: each bid scored on every criterion, the ranking by weighted score,
and the award (the top of the ranking, or a justified choice), with its reasons in words."""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from app.audit.operations import record
from app.database import transaction
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from app.notifications.operations import emit

from .events import process_context
from .models import Award, Bid, CriterionKind, Phase, Process, Score
from .processes import PHASES, move, require_manage
from .releases import publish_release

TIE_RULE = _l("Equal totals are separated by the points on the social criteria, then by the lower price; "
               "a tie that remains is decided by the officials with a written justification.")


def scored_by_evaluators(process: Process) -> list:
    """The criteria an evaluator scores (quality and social); price is computed."""
    return [c for c in process.criteria if c.kind != CriterionKind.PRICE]


def score_bid(bid: Bid, scores: dict[int, int], *, actor, notes: dict[int, str] | None = None) -> None:
    """Record the evaluation of a bid: a score from 0 to 100 with its justification for every
    quality and social criterion. The price criterion is not scored by hand (see `price_score`)."""
    process = bid.process
    require_manage(actor, process)
    if process.phase != Phase.BIDS:
        raise Invalid(_l("Bids are scored after bidding closes and before the award."))
    notes = {k: (v or "").strip() for k, v in (notes or {}).items()}
    criteria = scored_by_evaluators(process)
    for criterion in criteria:
        value = scores.get(criterion.id)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise Invalid(_l("Score every criterion with a whole number from 0 to 100."),
                          field=f"score_{criterion.id}")
        if not notes.get(criterion.id):
            raise Invalid(_l("Justify each score: say what in the bid earned it."), field=f"note_{criterion.id}")
    with transaction():
        before = {str(s.criterion_id): s.score for s in bid.scores}
        bid.scores.clear()
        db.session.flush()
        for criterion in criteria:
            bid.scores.append(Score(criterion_id=criterion.id, score=scores[criterion.id], note=notes[criterion.id]))
        record("procurement.bid_scored", bid, actor=actor, before=before,
               after={str(c.id): scores[c.id] for c in criteria})


def price_score(bid: Bid, lowest_cents: int) -> Decimal:
    """The published price formula: the lowest price gets full marks (100), the others in
    proportion, 100 × lowest ÷ price, to the hundredth."""
    return (Decimal(100 * lowest_cents) / bid.amount_cents).quantize(Decimal("0.01"))


@dataclass
class Ranked:
    bid: Bid
    total: int                      # hundredths of a point, 0–10000
    complete: bool
    social: int = 0                 # hundredths of a point on the social criteria (the first tie-break)
    rank: int = 0
    lines: list = field(default_factory=list)   # [(criterion, score, weighted hundredths)]

    @property
    def points(self) -> Decimal:
        return Decimal(self.total) / 100

    @property
    def order(self) -> tuple:
        """The published order: total, then social points, then the lower price (TIE_RULE)."""
        return (-self.total, -self.social, self.bid.amount_cents)


def ranking(process: Process) -> list[Ranked]:
    """Bids by weighted score: Σ weight × score over the criteria (weights sum to 100, scores
    0–100, so the total is in hundredths of a point out of 100), the price score computed from
    the prices. Ties are separated by TIE_RULE; bids still equal share a rank."""
    bids = process.bids
    lowest = min((b.amount_cents for b in bids), default=0)
    rows = []
    for bid in bids:
        lines, complete = [], True
        for criterion in process.criteria:
            if criterion.kind == CriterionKind.PRICE:
                value = price_score(bid, lowest)
                weighted = int((criterion.weight * Decimal(100 * lowest) / bid.amount_cents)
                               .quantize(Decimal(1), ROUND_HALF_UP))
            else:
                value = bid.score_for(criterion.id)
                complete = complete and value is not None
                weighted = criterion.weight * (value or 0)
            lines.append((criterion, value, weighted))
        rows.append(Ranked(bid, sum(w for _c, _s, w in lines), complete, lines=lines,
                           social=sum(w for c, _s, w in lines if c.kind_enum.social)))
    rows.sort(key=lambda r: (r.order, r.bid.id))
    for i, row in enumerate(rows):
        row.rank = rows[i - 1].rank if i and rows[i - 1].order == row.order else i + 1
    return rows


def decide_award(process: Process, *, actor, bid: Bid | None = None, justification: str = "") -> Award:
    """Bids → award. The winner is the top of the computed ranking (TIE_RULE applied). When the top
    is a tie, or the actor picks another bid (an override), a written
    justification is required; the ranking is frozen in the award."""
    PHASES.check(process.phase_enum, Phase.AWARD)
    require_manage(actor, process)
    ranked = ranking(process)
    if not ranked or not all(r.complete for r in ranked):
        raise Invalid(_l("Score every bid on every criterion before the award."))
    justification = (justification or "").strip()
    top = [r for r in ranked if r.rank == 1]
    tie = len(top) > 1
    chosen = next((r for r in ranked if bid is not None and r.bid.id == bid.id), None)
    if bid is not None and chosen is None:
        raise Invalid(_l("That bid is not part of this process."), field="bid")
    if chosen is None:
        if tie:
            raise Invalid(_l("The ranking is tied at the top: choose the winning bid and justify the choice."),
                          field="bid")
        chosen = top[0]
    override = chosen.rank != 1
    if (tie or override) and not justification:
        raise Invalid(_l("A tie or a choice other than the top of the ranking needs a written justification."),
                      field="justification")
    with transaction():
        award = Award(process=process, bid=chosen.bid, value_cents=chosen.bid.amount_cents,
                      total_score=chosen.total, tie=tie, override=override, justification=justification,
                      decided_on=city_today(), decided_by_id=actor.id,
                      ranking=[{"bid_id": r.bid.id, "organisation": r.bid.organisation.slug,
                                "name": r.bid.organisation.name, "total": r.total, "rank": r.rank}
                               for r in ranked])
        db.session.add(award)
        move(process, Phase.AWARD, actor, supplier=chosen.bid.organisation.slug, total=chosen.total,
              tie=tie, override=override, justification=justification)
        emit("procurement.award_decided", "procurement", process.id, actor=actor,
             **process_context(process, supplier=chosen.bid.organisation.name, value_cents=chosen.bid.amount_cents))
        publish_release(process, ["award"], actor=actor)
    return award
