"""After bidding closes: each bid scored on every criterion, the ranking by weighted score,
and the award (the top of the ranking, or a justified choice), with its reasons in words."""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from flask_babel import lazy_gettext as _l

from app.accounts.operations import is_official
from app.audit.operations import record
from app.database import transaction
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.i18n import city_today
from app.notifications.operations import emit

from .events import process_context
from .models import Award, Bid, Criterion, CriterionKind, PanelMember, Phase, Process, Score
from .price_formulas import formula_of
from .processes import PHASES, lock, move, require_manage
from .releases import publish_release

HUNDREDTH = Decimal("0.01")

TIE_RULE = _l("Equal totals are separated by the points on the social criteria, then by the lower price; "
               "a tie that remains is decided by the officials with a written justification.")

# How the panel's score is worked out, stated on the tender page and in the evaluation report.
PANEL_RULE = _l("Quality and social criteria are scored from 0 to 100 by each member of the evaluation panel, "
                "with a written justification; the panel's score is the mean of its members' scores, rounded "
                "half up to the hundredth. A criterion's points are its weight × its score ÷ 100, to the "
                "hundredth of a point.")


def scored_by_evaluators(process: Process) -> list:
    """The criteria an evaluator scores (quality and social); price is computed."""
    return [c for c in process.criteria if c.kind != CriterionKind.PRICE]


def _locked_for_scoring(process: Process) -> None:
    if process.phase != Phase.BIDS:
        raise Invalid(_l("Bids are scored after bidding closes and before the award; once the award is decided "
                         "the scores are locked."))


def on_panel(user, process: Process) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return any(m.user_id == user.id for m in process.panel)


def progress(process: Process) -> dict[int, int]:
    """How many of the bids each panel member has scored, by user id."""
    return {m.user_id: sum(1 for b in process.bids if any(s.evaluator_id == m.user_id for s in b.scores))
            for m in process.panel}


def add_evaluator(process: Process, user, *, actor) -> None:
    """Appoint an official to the evaluation panel, until the award. Any official may sit on it
    (panels often draw on several departments), but no member of an organisation that bid."""
    require_manage(actor, process)
    if process.phase not in (Phase.PLANNING, Phase.TENDER, Phase.BIDS):
        raise Invalid(_l("The evaluation panel can change only until the award."), field="evaluator")
    if user is None or not is_official(user):
        raise Invalid(_l("Only officials can sit on an evaluation panel."), field="evaluator")
    if any(user.member_of(b.organisation) for b in process.bids):
        raise Invalid(_l("%(name)s belongs to an organisation that bid, and cannot evaluate its bids.",
                         name=user.name), field="evaluator")
    with transaction():
        lock(process)
        if on_panel(user, process):
            raise Invalid(_l("%(name)s is already on the panel.", name=user.name), field="evaluator")
        process.panel.append(PanelMember(user_id=user.id, added_by_id=actor.id))
        record("procurement.evaluator_added", process, actor=actor, after={"evaluator": user.id})


def remove_evaluator(process: Process, user, *, actor) -> None:
    """Take an official off the panel before the award, unless they have scored already (a score
    given stays part of the evaluation)."""
    require_manage(actor, process)
    with transaction():
        lock(process)
        if process.phase not in (Phase.PLANNING, Phase.TENDER, Phase.BIDS):
            raise Invalid(_l("The evaluation panel can change only until the award."), field="evaluator")
        member = next((m for m in process.panel if m.user_id == user.id), None)
        if member is None:
            raise Invalid(_l("%(name)s is not on the panel.", name=user.name), field="evaluator")
        if any(s.evaluator_id == user.id for b in process.bids for s in b.scores):
            raise Invalid(_l("%(name)s has already scored bids and stays on the panel.", name=user.name),
                          field="evaluator")
        process.panel.remove(member)
        record("procurement.evaluator_removed", process, actor=actor, before={"evaluator": user.id})


def score_bid(bid: Bid, scores: dict[int, int], *, actor, notes: dict[int, str] | None = None) -> None:
    """One panel member's evaluation of a bid: a score from 0 to 100 with its justification for
    every quality and social criterion, given once and never changed. Only members of the panel
    score, only while the bids are under evaluation (the award locks the scores), and never a bid
    of their own organisation. The price criterion is computed (see `price_lines`)."""
    process = bid.process
    if not on_panel(actor, process):
        raise NotAllowed(_l("Only the members of the evaluation panel score the bids."))
    if actor.member_of(bid.organisation):
        raise NotAllowed(_l("You belong to %(name)s and cannot score its bid.", name=bid.organisation.name))
    _locked_for_scoring(process)
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
        lock(process)  # against the award being decided, or the same evaluator scoring twice, meanwhile
        _locked_for_scoring(process)
        db.session.refresh(bid, ["scores"])
        if any(s.evaluator_id == actor.id for s in bid.scores):
            raise Invalid(_l("You have already scored this bid; a score once given is not changed."))
        for criterion in criteria:
            bid.scores.append(Score(criterion_id=criterion.id, evaluator_id=actor.id, score=scores[criterion.id],
                                    note=notes[criterion.id]))
        record("procurement.bid_scored", bid, actor=actor,
               after={str(c.id): scores[c.id] for c in criteria} | {"evaluator": actor.id})


def panel_score(bid: Bid, criterion: Criterion) -> Decimal | None:
    """The panel's score of a bid on a criterion: the mean of its members' scores, rounded half up to
    the hundredth (None until someone has scored it)."""
    given = [s.score for s in bid.scores_for(criterion.id)]
    if not given:
        return None
    return (Decimal(sum(given)) / len(given)).quantize(HUNDREDTH, ROUND_HALF_UP)


def price_ratio(criterion: Criterion, bid: Bid, lowest_cents: int) -> Fraction:
    return formula_of(criterion).ratio(bid.amount_cents, lowest_cents, bid.process.budget_cents)


def price_score(criterion: Criterion, bid: Bid, lowest_cents: int) -> Decimal:
    """The price score from the criterion's published formula, 0 to 100, to the hundredth."""
    ratio = price_ratio(criterion, bid, lowest_cents)
    return (Decimal(100 * ratio.numerator) / ratio.denominator).quantize(HUNDREDTH, ROUND_HALF_UP)


def _round(value: Fraction) -> int:
    return int((Decimal(value.numerator) / value.denominator).quantize(Decimal(1), ROUND_HALF_UP))


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
    0–100, so the total is in hundredths of a point out of 100). The price score comes from its
    criterion's formula, the others are the panel's means (PANEL_RULE); a criterion's weighted
    points are rounded half up to the hundredth of a point. A bid is complete once every member of
    the panel has scored it. Ties are separated by TIE_RULE; bids still equal share a rank."""
    bids = process.bids
    lowest = min((b.amount_cents for b in bids), default=0)
    panel = {m.user_id for m in process.panel}
    rows = []
    for bid in bids:
        lines, complete = [], bool(panel)
        for criterion in process.criteria:
            if criterion.kind == CriterionKind.PRICE:
                value = price_score(criterion, bid, lowest)
                weighted = _round(criterion.weight * 100 * price_ratio(criterion, bid, lowest))
            else:
                value = panel_score(bid, criterion)
                complete = complete and panel <= {s.evaluator_id for s in bid.scores_for(criterion.id)}
                weighted = _round(criterion.weight * Fraction(value or 0))
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
    # Under the process's lock: no score or panel change slips in between the ranking and the award.
    with transaction():
        lock(process)
        PHASES.check(process.phase_enum, Phase.AWARD)
        ranked = ranking(process)
        if not process.panel:
            raise Invalid(_l("Appoint the evaluation panel and let it score the bids before the award."))
        if not ranked or not all(r.complete for r in ranked):
            raise Invalid(_l("Every member of the panel must score every bid on every criterion before the award."))
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
