"""The moves an official of the procuring department may make on a process now, each allowed or
refused with its reason: the one place that knows them. The process page shows them as its buttons
and every operation that makes one calls `check` first, so a button and its refusal never disagree.

While bids are accepted (until the end of the deadline day in the city's time zone) the tender can
only be extended or cancelled: bidding closes after the deadline, never before."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.errors import Invalid, InvalidTransition
from app.i18n import city_today, day

from .models import CommitmentStatus, Phase, Process


@dataclass(frozen=True)
class Move:
    name: str
    allowed: bool
    reason: object = ""  # a lazy translated sentence when refused
    field: str | None = None  # the form field the refusal concerns, if any


def bidding_open(process: Process, today=None) -> bool:
    """Whether the tender accepts bids today: published and not past its deadline day."""
    today = today or city_today()
    return process.phase == Phase.TENDER and process.bid_deadline is not None and today <= process.bid_deadline


def _refused(name, reason, field=None) -> Move:
    return Move(name, False, reason, field)


def _tender_moves(process: Process, today) -> list[Move]:
    deadline = day(process.bid_deadline) if process.bid_deadline else ""
    if bidding_open(process, today):
        close = _refused("close_bidding", _l("Bidding is open until the end of %(deadline)s; until then the "
                                             "tender can only be extended or cancelled.", deadline=deadline))
        extend = Move("extend_deadline", True)
        amend = Move("amend_tender", True)
    else:
        close = (Move("close_bidding", True) if process.bids else
                 _refused("close_bidding", _l("No organisation has bid; cancel the tender instead.")))
        extend = _refused("extend_deadline", _l("The deadline, %(deadline)s, has passed: bids can no longer be "
                                                "accepted.", deadline=deadline))
        amend = _refused("amend_tender", _l("Bids are no longer accepted: the tender can no longer change."))
    return [extend, amend, close, Move("cancel", True)]


def moves(process: Process, today=None) -> list[Move]:
    """The moves of the process's current phase, in the order the page shows them."""
    today = today or city_today()
    phase = process.phase_enum
    if phase == Phase.PLANNING:
        publish = (Move("publish", True) if process.criteria and process.weights_total == 100 else
                   _refused("publish", _l("Set the award criteria, with weights adding up to 100, before "
                                          "publishing."), field="criteria"))
        return [Move("criteria", True), publish, Move("cancel", True)]
    if phase == Phase.TENDER:
        return _tender_moves(process, today)
    if phase == Phase.BIDS:
        return [Move("score", True), Move("award", True), Move("cancel", True)]
    if phase == Phase.AWARD:
        return [Move("contract", True), Move("amend_award", True)]
    if phase == Phase.CONTRACT:
        return [Move("start_implementation", True), Move("amend_contract", True)]
    if phase == Phase.IMPLEMENTATION:
        pending = any(c.status == CommitmentStatus.PENDING for c in process.contract.commitments)
        close = (_refused("close", _l("Assess every social commitment before closing the contract."))
                 if pending else Move("close", True))
        return [close, Move("amend_contract", True)]
    return []


def check(process: Process, name: str, today=None) -> None:
    """Refuse `name` unless it is one of the moves allowed now, with the reason the page shows: a
    move of another phase is an invalid transition (409), a move of this one refused by a rule
    (the deadline, no bids, unassessed commitments) is a conflict too (409, code "refused"), unless
    it concerns a form's field (422)."""
    found = next((m for m in moves(process, today) if m.name == name), None)
    if found is None:
        raise InvalidTransition(_l("This step is not possible while the process is “%(phase)s”.",
                                   phase=process.phase_enum.label))
    if not found.allowed:  # refused by the state of things (409), or by what a field lacks (422)
        raise Invalid(found.reason, field=found.field, status=409 if found.field is None else None,
                      code="refused" if found.field is None else None)
