"""Civil selection: the accredited social-economy organisations of a council's jurisdiction
nominate candidates for the vacant civil seats and cast one secret ballot each; the totals
are published and the elected seated."""
import secrets
from dataclasses import dataclass, field
from datetime import date
from random import SystemRandom

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, insert, select

from app.accounts.models import Role, User
from app.accounts.operations import is_official
from app.audit.operations import record, snapshot
from app.database import transaction, utcnow
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today
from app.organisations import operations as organisations
from app.organisations.models import Organisation

from . import moves
from .models import (
    BallotMark,
    Candidacy,
    Council,
    CountingRule,
    Election,
    ElectionStatus,
    ElectionVoter,
    Jurisdiction,
    Mandate,
    Side,
)
from .operations import lock_council, require_official
from .seats import fill_seat, mandate_of, vacant_seats
from .states import ELECTION

MAX_STATEMENT = 2000


def eligible_organisations(council: Council, on: date | None = None) -> list[Organisation]:
    """Social-economy organisations with an accreditation in force, in the council's jurisdiction."""
    on = on or city_today()
    seen, out = set(), []
    for acc in organisations.accreditations_in_force(on):
        org = acc.organisation
        if org.id in seen or not org.is_social_economy:
            continue
        if council.jurisdiction != Jurisdiction.CITY.value and \
                (org.neighbourhood or "").strip().lower() != council.area.strip().lower():
            continue
        seen.add(org.id)
        out.append(org)
    return sorted(out, key=lambda o: o.name)


def _check_voter(council: Council, organisation: Organisation, actor) -> None:
    if actor is None or not actor.has_role(Role.ORG_MEMBER) or not actor.member_of(organisation):
        raise NotAllowed(_l("Only members of %(name)s may act for it.", name=organisation.name))
    if organisation.id not in {o.id for o in eligible_organisations(council)}:
        raise NotAllowed(_l("%(name)s is not an accredited social-economy organisation of this council's "
                            "jurisdiction.", name=organisation.name))


def open_election(council: Council, title: str, seats: int, *, actor, counting_rule: str | None = None) -> Election:
    """Open a selection round for up to the civil seats vacant today (refused when none is)."""
    require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the selection round a title."), field="title")
    moves.check(council, "open_election")
    vacant = len(vacant_seats(council, Side.CIVIL))
    if not isinstance(seats, int) or not 1 <= seats <= vacant:
        raise Invalid(_l("Between 1 and %(vacant)s civil seats are vacant.", vacant=vacant), field="seats")
    try:
        rule = CountingRule(counting_rule or council.counting_rule)
    except ValueError:
        raise Invalid(_l("Choose how ballots are counted."), field="counting_rule") from None
    with transaction():
        election = Election(council=council, title=title, seats=seats, counting_rule=rule.value)
        db.session.add(election)
        record("council_election.opened", election, actor=actor,
               after=snapshot(election, ["council_id", "title", "seats", "counting_rule"]))
    return election


def election_by_id(election_id: int) -> Election:
    row = db.session.get(Election, election_id)
    if row is None:
        raise NotFound(_l("No such selection round."))
    return row


def elections_of(council: Council) -> list[Election]:
    """The council's selection rounds, the newest first."""
    return db.session.execute(select(Election).where(Election.council_id == council.id)
                              .order_by(Election.id.desc())).scalars().all()


def nominate(election: Election, organisation: Organisation, candidate: User, *, actor,
             statement: str = "") -> Candidacy:
    """An accredited organisation of the jurisdiction names a candidate (at most one per seat),
    with a statement of at most MAX_STATEMENT characters."""
    _check_voter(election.council, organisation, actor)
    if election.status_enum is not ElectionStatus.NOMINATING:
        raise Invalid(_l("Nominations are closed."))
    statement = (statement or "").strip()
    if len(statement) > MAX_STATEMENT:
        raise Invalid(_l("A statement has at most %(max)s characters.", max=MAX_STATEMENT), field="statement")
    with transaction():
        existing = db.session.execute(select(Candidacy).where(Candidacy.election_id == election.id)).scalars().all()
        if any(c.user_id == candidate.id for c in existing):
            raise Invalid(_l("%(name)s is already a candidate.", name=candidate.name), field="candidate")
        if sum(1 for c in existing if c.organisation_id == organisation.id) >= election.seats:
            raise Invalid(_l("An organisation names at most one candidate per seat."), field="candidate")
        if mandate_of(election.council, candidate, city_today()):
            raise Invalid(_l("%(name)s already holds a seat on this council.", name=candidate.name),
                          field="candidate")
        candidacy = Candidacy(election=election, user=candidate, organisation=organisation, statement=statement)
        db.session.add(candidacy)
        record("council_election.nominated", candidacy, actor=actor,
               after={"election_id": election.id, "user_id": candidate.id, "organisation": organisation.slug})
    return candidacy


def open_voting(election: Election, *, actor) -> None:
    """Close nominations and open voting (once someone is nominated)."""
    require_official(actor)
    ELECTION.check(election.status_enum, ElectionStatus.VOTING)
    if not election.candidacies:
        raise Invalid(_l("No candidate has been nominated yet."))
    with transaction():
        election.status = ElectionStatus.VOTING.value
        record("council_election.voting_opened", election, actor=actor, after={"status": election.status})


def has_voted(election: Election, organisation: Organisation) -> bool:
    return db.session.execute(select(ElectionVoter.id).where(
        ElectionVoter.election_id == election.id, ElectionVoter.organisation_id == organisation.id)).first() is not None


def cast_ballot(election: Election, organisation: Organisation, candidacy_ids: list[int], *, actor) -> None:
    """One ballot per organisation. The names marked are stored apart from who voted,
    so no one (other voters included) can read an organisation's choice; totals stay auditable."""
    _check_voter(election.council, organisation, actor)
    if election.status_enum is not ElectionStatus.VOTING:
        raise Invalid(_l("Voting is not open."), field="candidates")
    chosen = {int(i) for i in candidacy_ids}
    valid = {c.id for c in election.candidacies}
    if not chosen or not chosen <= valid:
        raise Invalid(_l("Mark at least one candidate of this round."), field="candidates")
    if len(chosen) > election.marks_per_ballot:
        raise Invalid(_l("A ballot names at most %(count)s candidates.", count=election.marks_per_ballot),
                      field="candidates")
    with transaction():
        db.session.execute(select(Election.id).where(Election.id == election.id).with_for_update())
        if has_voted(election, organisation):
            raise Invalid(_l("%(name)s has already voted.", name=organisation.name), field="candidates")
        db.session.add(ElectionVoter(election_id=election.id, organisation_id=organisation.id))
        _reshuffle_box(election, sorted(chosen))
        record("council_election.ballot_cast", election, actor=actor,
               after={"organisation": organisation.slug, "marks": len(chosen)})


def _reshuffle_box(election: Election, new_marks: list[int]) -> None:
    """Put the new marks in the round's box and write the whole box again, shuffled, in one insert
    with fresh random keys: every mark then carries this transaction, and no key, row order or
    transaction id tells which marks came with which voter (issue #17). A round has at most a few
    hundred ballots, so rewriting it at each one costs little."""
    box = db.session.execute(select(BallotMark.candidacy_id).where(BallotMark.election_id == election.id)
                             ).scalars().all() + new_marks
    SystemRandom().shuffle(box)
    db.session.execute(delete(BallotMark).where(BallotMark.election_id == election.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(insert(BallotMark).values([
        {"id": secrets.randbelow(2**63 - 1) + 1, "election_id": election.id, "candidacy_id": candidacy_id}
        for candidacy_id in box]))


def tally(election: Election) -> list[tuple[Candidacy, int]]:
    """Totals per candidate, most votes first; a tie goes to the earlier nomination."""
    counts = dict(db.session.execute(
        select(BallotMark.candidacy_id, func.count(BallotMark.id)).where(BallotMark.election_id == election.id)
        .group_by(BallotMark.candidacy_id)).all())
    rows = [(c, counts.get(c.id, 0)) for c in election.candidacies]
    return sorted(rows, key=lambda row: (-row[1], row[0].id))


def published_results(election: Election) -> list[tuple[Candidacy, int]] | None:
    """The totals per candidate once the round is published; None before, so that no one
    (officials included) reads a running count."""
    return tally(election) if election.status_enum is ElectionStatus.PUBLISHED else None


def publish_results(election: Election, *, actor, seat_from: date | None = None) -> list[Mandate]:
    """Count, publish the totals, and seat the elected in vacant civil seats from `seat_from`.
    A candidate needs at least one vote; all or nothing is seated."""
    require_official(actor)
    ELECTION.check(election.status_enum, ElectionStatus.PUBLISHED)
    seat_from = seat_from or city_today()
    seated = []
    with transaction():
        lock_council(election.council)
        results = tally(election)
        elected = [c for c, votes in results if votes > 0][:election.seats]
        for candidacy, votes in results:
            candidacy.votes = votes
            candidacy.elected = candidacy in elected
        for candidacy in elected:
            seated.append(fill_seat(election.council, candidacy.user, Side.CIVIL, seat_from, actor=actor,
                                organisation=candidacy.organisation, election=election))
        election.status = ElectionStatus.PUBLISHED.value
        election.seat_from = seat_from
        election.published_at = utcnow()
        record("council_election.published", election, actor=actor,
               after={"totals": {c.user.name: v for c, v in results},
                      "elected": [c.user_id for c in elected], "ballots": len(election.voters)})
    return seated


def cancel_election(election: Election, *, actor) -> None:
    """Cancel a round before its results are published; no one is seated."""
    require_official(actor)
    ELECTION.check(election.status_enum, ElectionStatus.CANCELLED)
    with transaction():
        election.status = ElectionStatus.CANCELLED.value
        record("council_election.cancelled", election, actor=actor, after={"status": election.status})


def voting_organisations(user) -> list[Organisation]:
    """The organisations `user` may act for in selection rounds (none for a visitor)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role(Role.ORG_MEMBER):
        return []
    return list(user.organisations)


def voting_organisation(user, organisation_id: int) -> Organisation:
    """The organisation `user` chose to act for, among those they belong to."""
    for organisation in voting_organisations(user):
        if organisation.id == organisation_id:
            return organisation
    raise Invalid(_l("Choose an organisation you belong to."))


def voted_organisations(election: Election) -> set[int]:
    """The ids of the organisations that have cast their ballot in the round."""
    return set(db.session.execute(
        select(ElectionVoter.organisation_id).where(ElectionVoter.election_id == election.id)).scalars())


@dataclass(frozen=True)
class ElectionMoves:
    """What a viewer may do in a selection round now: its page offers these moves and no other."""
    open_voting: bool = False      # officials: close nominations and open voting
    publish: bool = False          # officials: count, publish and seat the elected
    cancel: bool = False           # officials
    organisations: list[Organisation] = field(default_factory=list)  # the viewer's, taking part
    voted: set[int] = field(default_factory=set)  # those of them that have cast their ballot
    nominate: bool = False
    ballot: bool = False           # voting is open to one of the viewer's organisations
    cast_ballot: bool = False      # ...and one of them has yet to vote


def election_moves(election: Election, user) -> ElectionMoves:
    """The moves `user` (None for a visitor) has in `election`."""
    status = election.status_enum
    eligible = {o.id for o in eligible_organisations(election.council)}
    mine = [o for o in voting_organisations(user) if o.id in eligible]
    voted = {o.id for o in mine if has_voted(election, o)}
    official = is_official(user)
    ballot = bool(mine) and status is ElectionStatus.VOTING
    return ElectionMoves(
        open_voting=official and ELECTION.allowed(status, ElectionStatus.VOTING),
        publish=official and ELECTION.allowed(status, ElectionStatus.PUBLISHED),
        cancel=official and ELECTION.allowed(status, ElectionStatus.CANCELLED),
        organisations=mine, voted=voted, nominate=bool(mine) and status is ElectionStatus.NOMINATING,
        ballot=ballot, cast_ballot=ballot and len(voted) < len(mine))
