"""Motions and votes: the Chair or Vice-Chair puts a motion and opens its vote once the
meeting is quorate; each member present votes for themself, or by a show of hands the Chair
records when closing the vote; the result follows the council's vote and tie rules, and an
adopted motion may adopt a priority need (`needs.py`). Votes change only with the motion's
row locked (`lock_motion`), so a vote and the closing count never cross."""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.errors import DomainError, Invalid, NotAllowed, NotFound
from app.extensions import db
from app.notifications.operations import emit
from app.organisations.models import ServiceCategory

from .chairs import appointments_on
from .meetings import quorum, require_runner
from .models import (
    HAND_OPTIONS,
    AgendaItem,
    ChairRole,
    HandCount,
    Mandate,
    Meeting,
    MeetingStatus,
    Motion,
    MotionStatus,
    Side,
    TieRule,
    Vote,
    VoteOption,
    VoteRule,
)
from .needs import adopt_need
from .operations import lock_motion
from .seats import mandate_of
from .states import MEETING_OPEN, MOTION

# Far more priorities than a council ranks; the bound keeps a typo from reaching the database.
MAX_NEED_RANK = 999


def propose_motion(meeting: Meeting, title: str, *, actor, text: str = "", agenda_item: AgendaItem | None = None,
                   need_category: ServiceCategory | None = None, need_neighbourhood: str = "",
                   need_rank: int | None = None, need_rationale: str = "") -> Motion:
    """Put a motion on an agenda item. With a service category it proposes a priority
    need (rank 1 is the most urgent) that the council adopts if the motion passes."""
    require_runner(meeting, actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the motion a title."), field="title")
    if meeting.status_enum not in MEETING_OPEN:
        raise Invalid(_l("Motions are put while the meeting is open."), field="title")
    if agenda_item is not None and agenda_item.meeting_id != meeting.id:
        raise Invalid(_l("Choose an item of this meeting's agenda."), field="agenda_item")
    if need_category is not None and (not isinstance(need_rank, int) or not 1 <= need_rank <= MAX_NEED_RANK):
        raise Invalid(_l("Give the priority a rank from 1 to %(max)s (1 is the most urgent).", max=MAX_NEED_RANK),
                      field="need_rank")
    with transaction():
        motion = Motion(meeting=meeting, agenda_item=agenda_item, title=title, text=(text or "").strip(),
                        need_category=need_category,
                        need_neighbourhood=(need_neighbourhood or "").strip() if need_category else "",
                        need_rank=need_rank if need_category else None,
                        need_rationale=(need_rationale or "").strip() if need_category else "")
        db.session.add(motion)
        record("council_motion.proposed", motion, actor=actor,
               after=snapshot(motion, ["meeting_id", "title", "need_category_id", "need_neighbourhood", "need_rank"]))
    return motion


def motion_by_id(motion_id: int) -> Motion:
    row = db.session.get(Motion, motion_id)
    if row is None:
        raise NotFound(_l("No such motion."))
    return row


def motion_detail(motion_id: int) -> Motion:
    """A motion with its meeting, agenda item and every vote (with the voter) loaded in a few queries."""
    row = db.session.execute(
        select(Motion).where(Motion.id == motion_id).options(
            joinedload(Motion.meeting), joinedload(Motion.agenda_item), selectinload(Motion.votes),
            selectinload(Motion.hand_counts))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No such motion."))
    return row


def open_vote(motion: Motion, *, actor) -> None:
    """Open the vote; only with the meeting in session and its quorum met."""
    meeting = motion.meeting
    require_runner(meeting, actor)
    if meeting.status_enum is not MeetingStatus.IN_SESSION:
        raise Invalid(_l("Votes are taken while the meeting is in session."))
    if not quorum(meeting).met:
        # Why not is the meeting's quorum report (`quorum(meeting).reasons`), shown with its attendance.
        raise Invalid(_l("There is no quorum, so the vote cannot open."))
    MOTION.check(motion.status_enum, MotionStatus.VOTING)
    with transaction():
        motion.status = MotionStatus.VOTING.value
        record("council_motion.vote_opened", motion, actor=actor, after={"status": motion.status})


def cast_vote(motion: Motion, option: str, *, actor) -> Vote:
    """The acting member votes for themself, and only if present; they may change
    their vote until the vote closes."""
    try:
        option = VoteOption(option)
    except ValueError:
        raise Invalid(_l("Vote yes, no or abstain."), field="option") from None
    if option is VoteOption.ABSENT:
        raise Invalid(_l("Vote yes, no or abstain."), field="option")
    if motion.status_enum is not MotionStatus.VOTING:
        raise Invalid(_l("This motion is not open for voting."), field="option")
    meeting = motion.meeting
    mandate = mandate_of(meeting.council, actor, meeting.on)
    if mandate is None:
        raise NotAllowed(_l("Only members of this council vote, each for themself."))
    if not any(line.mandate_id == mandate.id and line.present for line in meeting.attendance):
        raise NotAllowed(_l("Members vote when recorded as present."))
    with transaction():
        lock_motion(motion)
        if motion.status_enum is not MotionStatus.VOTING:  # closed while this vote waited for the lock
            raise Invalid(_l("This motion is not open for voting."), field="option")
        vote = db.session.execute(select(Vote).where(Vote.motion_id == motion.id, Vote.mandate_id == mandate.id)
                                  ).scalar_one_or_none()
        if vote is None:
            vote = Vote(motion=motion, mandate=mandate, option=option.value)
            db.session.add(vote)
        else:
            vote.option = option.value
            vote.cast_at = utcnow()
        record("council_vote.cast", motion, actor=actor, after={"user_id": actor.id, "option": option.value})
    return vote


def decide(vote_rule: VoteRule, tie_rule: TieRule, counts: dict[str, int], total_seats: int,
           chair_option: str | None) -> tuple[bool, str]:
    """Whether a motion passes under the council's rule, and why (for the record)."""
    yes, no = counts.get("yes", 0), counts.get("no", 0)
    tie = yes == no if vote_rule is VoteRule.SIMPLE else yes * 2 == total_seats
    if tie and yes > 0:
        if tie_rule is TieRule.CHAIR_DECIDES and chair_option in ("yes", "no"):
            return chair_option == "yes", "tie_chair"
        return False, "tie"
    if vote_rule is VoteRule.SIMPLE:
        return yes > no, "simple"
    return yes * 2 > total_seats, "absolute"


RESULT_NOTES = {
    "tie_chair": _l("A tie, decided by the Chair's vote."),
    "tie": _l("A tie: the motion is not adopted."),
    "simple": _l("Decided by a majority of the votes cast."),
    "absolute": _l("Decided by a majority of all seats."),
}


@dataclass(frozen=True)
class ShowOfHands:
    """A show of hands the Chair records when closing a vote, for the members present who did not
    vote with their own account: hands counted per side (`counts[side][option]`), or, where the
    council's rules want names, each member's option by mandate id (`names`)."""
    counts: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)


class UnvotedMembers(DomainError):
    """Closing would count members present who have not voted as abstaining: the Chair confirms first."""
    status = 409
    code = "unvoted"

    def __init__(self, members: list[Mandate]):
        super().__init__(ngettext("%(num)s member present has not voted: closing the vote counts them as "
                                  "abstaining. Confirm, or record their show of hands.",
                                  "%(num)s members present have not voted: closing the vote counts them as "
                                  "abstaining. Confirm, or record their show of hands.", len(members)))
        self.members = members


def unvoted(motion: Motion) -> list[Mandate]:
    """Members recorded present who have no vote on the motion yet, by side and seat."""
    voted = {v.mandate_id for v in motion.votes}
    return sorted((line.mandate for line in motion.meeting.attendance if line.present and line.mandate_id not in voted),
                  key=lambda m: (m.side != Side.GOVERNMENT.value, m.seat_number))


def _count(value, field_name) -> int:
    if value in (None, ""):
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Invalid(_l("Count the hands as a whole number, 0 or more."), field=field_name)
    return value


def _record_hands(motion: Motion, hands: ShowOfHands, pending: list[Mandate]) -> list[Mandate]:
    """Write the show of hands; returns the members present it leaves unvoted."""
    if motion.meeting.council.hand_votes_named:
        if hands.counts:
            raise Invalid(_l("This council's rules want the show of hands by name: give each member's vote."),
                          field="names")
        waiting = {m.id: m for m in pending}
        for mandate_id, option in hands.names.items():
            if not option:
                continue
            mandate = waiting.pop(int(mandate_id), None)
            if mandate is None:
                raise Invalid(_l("Only members present who have not voted are recorded by show of hands."),
                              field=f"m{mandate_id}")
            if option not in HAND_OPTIONS:
                raise Invalid(_l("Vote yes, no or abstain."), field=f"m{mandate_id}")
            motion.votes.append(Vote(mandate_id=mandate.id, mandate=mandate, option=option, by_hand=True))
        return list(waiting.values())
    if hands.names:
        raise Invalid(_l("This council counts a show of hands per side, without names."), field="names")
    left = []
    for side in Side:
        on_side = [m for m in pending if m.side == side.value]
        given = hands.counts.get(side.value) or hands.counts.get(side) or {}
        counted = {option: _count(given.get(option), f"{side.value}_{option}") for option in HAND_OPTIONS}
        if not given:
            left.extend(on_side)
            continue
        if sum(counted.values()) != len(on_side):
            raise Invalid(_l("On the %(side)s side %(pending)s members present have not voted with their account, "
                             "and the show of hands counts %(counted)s: count each of them once, abstentions too.",
                             side=side.label, pending=len(on_side), counted=sum(counted.values())),
                          field=f"{side.value}_yes")
        if on_side:
            motion.hand_counts.append(HandCount(side=side.value, **counted))
    return left


def require_closer(motion: Motion, actor) -> None:
    """Refuse to close anything but an open vote (whose state is public), and anyone but the
    Chair or Vice-Chair running the meeting."""
    if motion.status_enum is not MotionStatus.VOTING:
        raise Invalid(_l("This motion is not open for voting."))
    require_runner(motion.meeting, actor)


def close_vote(motion: Motion, *, actor, confirm: bool = False, hands: ShowOfHands | None = None) -> Motion:
    """Close the vote: absent members are recorded absent; members present who did not vote
    are counted from the Chair's show of hands (`hands`), and any left as abstaining, which
    the Chair must `confirm` (else `UnvotedMembers` lists them and nothing changes). The result
    follows the council's rule and tie setting. An adopted motion proposing a priority need
    registers it (replacing the council's current need for the same category and neighbourhood)."""
    meeting = motion.meeting
    council = meeting.council
    require_closer(motion, actor)
    with transaction():
        lock_motion(motion)
        if motion.status_enum is not MotionStatus.VOTING:
            raise Invalid(_l("This motion is not open for voting."))
        pending = unvoted(motion)
        if hands is not None:
            pending = _record_hands(motion, hands, pending)
        if pending and not confirm:
            raise UnvotedMembers(pending)
        voted = {v.mandate_id for v in motion.votes}
        counted_sides = {h.side for h in motion.hand_counts}
        for line in meeting.attendance:
            if line.mandate_id in voted or (line.present and line.mandate.side in counted_sides):
                continue
            motion.votes.append(Vote(mandate=line.mandate,
                                     option=(VoteOption.ABSTAIN if line.present else VoteOption.ABSENT).value))
        db.session.flush()
        chair = appointments_on(council, meeting.on)[ChairRole.CHAIR]
        chair_option = next((v.option for v in motion.votes if chair and v.mandate_id == chair.mandate_id), None)
        adopted, note = decide(VoteRule(council.vote_rule), TieRule(council.tie_rule), motion.counts(),
                               council.total_seats, chair_option)
        target = MotionStatus.ADOPTED if adopted else MotionStatus.REJECTED
        MOTION.check(motion.status_enum, target)
        motion.status = target.value
        motion.result_note = note
        motion.decided_at = utcnow()
        if adopted and motion.need_category_id:
            adopt_need(motion, council)
        record("council_motion.decided", motion, actor=actor,
               after={"status": motion.status, "counts": motion.counts(), "note": note,
                      "hands": {h.side: {o: getattr(h, o) for o in HAND_OPTIONS} for h in motion.hand_counts},
                      "named_by_hand": sorted(v.mandate.user_id for v in motion.votes if v.by_hand),
                      "abstaining_unvoted": sorted(m.user_id for m in pending)})
        emit("council.motion_decided", "council", council.id, actor=actor, council=council.name, motion=motion.title,
             result=motion.status, meeting_id=meeting.id,
             **{k: motion.counts().get(k, 0) for k in ("yes", "no", "abstain")})
    return motion


def votes_of(mandate_ids: list[int]) -> list[Vote]:
    """Every vote cast in these mandates (a member's public record), the latest first."""
    if not mandate_ids:
        return []
    return db.session.execute(
        select(Vote).where(Vote.mandate_id.in_(mandate_ids))
        .options(selectinload(Vote.motion).selectinload(Motion.meeting)).order_by(Vote.id.desc())
    ).scalars().all()
