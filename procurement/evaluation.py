"""After bidding closes: each bid scored on every criterion, the ranking by weighted score,
and the award (the top of the ranking, or a justified choice), with its reasons in words."""
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from app.audit.operations import record
from app.database import transaction
from app.errors import Invalid
from app.extensions import db
from app.i18n import city_today
from app.notifications.operations import emit

from .events import process_context
from .models import Award, Bid, Phase, Process, Score
from .processes import PHASES, move, require_manage
from .releases import publish_release


def score_bid(bid: Bid, scores: dict[int, int], *, actor, notes: dict[int, str] | None = None) -> None:
    """Record the evaluation of a bid: a score from 0 to 100 for every criterion."""
    process = bid.process
    require_manage(actor, process)
    if process.phase != Phase.BIDS:
        raise Invalid(_l("Bids are scored after bidding closes and before the award."))
    notes = notes or {}
    for criterion in process.criteria:
        value = scores.get(criterion.id)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise Invalid(_l("Score every criterion with a whole number from 0 to 100."),
                          field=f"score_{criterion.id}")
    with transaction():
        before = {str(s.criterion_id): s.score for s in bid.scores}
        bid.scores.clear()
        db.session.flush()
        for criterion in process.criteria:
            bid.scores.append(Score(criterion_id=criterion.id, score=scores[criterion.id],
                                    note=(notes.get(criterion.id) or "").strip()))
        record("procurement.bid_scored", bid, actor=actor, before=before,
               after={str(c.id): scores[c.id] for c in process.criteria})


@dataclass
class Ranked:
    bid: Bid
    total: int                      # hundredths of a point, 0–10000
    complete: bool
    rank: int = 0
    lines: list = field(default_factory=list)   # [(criterion, score, weighted hundredths)]

    @property
    def points(self) -> Decimal:
        return Decimal(self.total) / 100


def ranking(process: Process) -> list[Ranked]:
    """Bids by weighted score: Σ weight × score over the criteria (weights sum to
    100, scores 0–100, so the total is in hundredths of a point out of 100).
    Equal totals share a rank."""
    rows = []
    for bid in process.bids:
        lines, complete = [], True
        for criterion in process.criteria:
            value = bid.score_for(criterion.id)
            complete = complete and value is not None
            lines.append((criterion, value, criterion.weight * (value or 0)))
        rows.append(Ranked(bid, sum(w for _c, _s, w in lines), complete, lines=lines))
    rows.sort(key=lambda r: (-r.total, r.bid.id))
    for i, row in enumerate(rows):
        row.rank = rows[i - 1].rank if i and rows[i - 1].total == row.total else i + 1
    return rows


def decide_award(process: Process, *, actor, bid: Bid | None = None, justification: str = "") -> Award:
    """Bids → award. The winner is the top of the computed ranking. When the top
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
