"""A citizen's proposal, and the public consultation on it: comments and supports."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, InvalidTransition
from app.extensions import db
from app.moderation.screening import screen
from app.notifications.operations import follow

from . import moves
from .clauses import clean_clauses
from .lifecycle import PACT_FIELDS
from .models import (
    RESOURCES,
    Comment,
    Commons,
    CommonsKind,
    Intervention,
    Pact,
    PactEvent,
    PactState,
    PactVersion,
    ProposerKind,
    StandardForm,
    Support,
    Track,
)


def propose(*, actor, title: str, intervention: str, track: str, commons_ids=(), what: str = "",
            why: str = "", participants: str = "", resources=(), resources_note: str = "",
            duration_months: int = 12, report_every_months: int = 6,
            proposer_kind: str = ProposerKind.INDIVIDUAL.value, group_name: str = "",
            organisation=None, standard_form: StandardForm | None = None,
            new_commons_name: str = "", new_commons_place: str = "", locale: str = "en",
            publish_name: bool = False) -> Pact:
    """Write a proposal as a draft with its first version of the clauses.

    Ordinary proposals start from the clauses of the chosen standard form; a
    citizen may put forward a commons not yet in the register. A resident proposing
    alone is named in public only with `publish_name` (pacts/naming.py). Where the city asks for it,
    only a verified resident may propose (moves.citizen_move)."""
    moves.check_citizen("propose", actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the proposal a title."), field="title")
    try:
        intervention = Intervention(intervention).value
        track = Track(track).value
        proposer_kind = ProposerKind(proposer_kind).value
    except ValueError:
        raise Invalid(_l("Choose one of the options offered.")) from None
    if not (what or "").strip():
        raise Invalid(_l("Say what you propose to do."), field="what")
    if track == Track.ORDINARY and (standard_form is None or not standard_form.active):
        raise Invalid(_l("An ordinary pact follows one of the city's standard forms; choose one."),
                      field="standard_form")
    if proposer_kind == ProposerKind.GROUP and not (group_name or "").strip():
        raise Invalid(_l("Give the name of your group."), field="group_name")
    if proposer_kind == ProposerKind.ORGANISATION:
        if organisation is None or not actor.member_of(organisation):
            raise Invalid(_l("You may propose only for an organisation you belong to."),
                          field="organisation")
    else:
        organisation = None
    if not 1 <= int(duration_months) <= 120:
        raise Invalid(_l("A pact lasts between 1 and 120 months."), field="duration_months")
    if not 1 <= int(report_every_months) <= int(duration_months):
        raise Invalid(_l("Reports are due at least once during the pact."), field="report_every_months")
    unknown = [r for r in resources if r not in RESOURCES]
    if unknown:
        raise Invalid(_l("Choose one of the options offered."), field="resources")
    chosen = list(db.session.execute(select(Commons).where(Commons.id.in_(list(commons_ids)))).scalars())
    if len(chosen) != len(set(commons_ids)):
        raise Invalid(_l("Choose commons from the register."), field="commons")
    new_commons_name = (new_commons_name or "").strip()
    if not chosen and not new_commons_name:
        raise Invalid(_l("Choose at least one commons the proposal concerns."), field="commons")
    with transaction():
        if new_commons_name:
            proposed = Commons(name=new_commons_name, kind=CommonsKind.SQUARE.value,
                               place=(new_commons_place or "").strip(), registered=False,
                               proposed_by_id=actor.id)
            db.session.add(proposed)
            chosen.append(proposed)
        pact = Pact(title=title, intervention=intervention, track=track, standard_form=standard_form,
                    what=what.strip(), why=(why or "").strip(), participants=(participants or "").strip(),
                    resources=list(resources), resources_note=(resources_note or "").strip(),
                    duration_months=int(duration_months), report_every_months=int(report_every_months),
                    proposer_kind=proposer_kind, group_name=(group_name or "").strip(),
                    proposer_id=actor.id, organisation=organisation, locale=locale,
                    proposer_name_public=bool(publish_name),
                    state=PactState.DRAFT.value, commons=chosen)
        db.session.add(pact)
        if standard_form is not None and track == Track.ORDINARY:
            clauses = clean_clauses(standard_form.clauses or {})
        else:
            clauses = clean_clauses({"objectives": what})
        pact.versions.append(PactVersion(number=1, clauses=clauses, author_id=actor.id))
        db.session.add(PactEvent(pact=pact, from_state=None, to_state=PactState.DRAFT.value,
                                 actor_id=actor.id))
        screen(actor, "pact_proposal", pact)  # the hourly limit on proposals (app/moderation)
        record("pact.proposed", pact, actor=actor, after=snapshot(pact, PACT_FIELDS))
        follow(actor, "pact", pact.id)
    return pact


# The public consultation ----------------------------------------------------------------

def _require_consultation(pact: Pact) -> None:
    if pact.state != PactState.CONSULTATION:
        raise InvalidTransition(_l("Comments and supports are taken only during the public consultation."))


def comment(pact: Pact, body: str, *, actor) -> Comment:
    """Add a comment to the file; it stays with the file for good."""
    _require_consultation(pact)
    body = (body or "").strip()
    if not body:
        raise Invalid(_l("Write your comment."), field="body")
    with transaction():
        row = Comment(pact=pact, author_id=actor.id, body=body[:5000])
        db.session.add(row)
        db.session.flush()
        screen(actor, "pact_comment", row)  # the hourly limit; a new account's first comments wait for review
        record("pact.commented", pact, actor=actor, after={"comment": row.id})
    return row


def support(pact: Pact, *, actor) -> Support:
    """Add one person's support to a proposal in consultation (once each; where the city asks for it,
    a verified resident's only)."""
    _require_consultation(pact)
    moves.check_citizen("support", actor)
    if db.session.execute(select(Support.id).where(Support.pact_id == pact.id,
                                                   Support.user_id == actor.id)).first():
        raise Invalid(_l("You already support this proposal."))
    with transaction():
        row = Support(pact=pact, user_id=actor.id)
        db.session.add(row)
        record("pact.supported", pact, actor=actor, after={"user": actor.id})
    return row


def withdraw_support(pact: Pact, *, actor) -> None:
    """Take back one's own support while the consultation is open: one DELETE of that person's
    row, so two withdrawals at once remove it once and the count never goes below what was given."""
    _require_consultation(pact)
    with transaction():
        removed = db.session.execute(delete(Support).where(Support.pact_id == pact.id,
                                                           Support.user_id == actor.id)).rowcount
        if not removed:
            raise Invalid(_l("You do not support this proposal."))
        record("pact.support_withdrawn", pact, actor=actor, before={"user": actor.id})
    db.session.expire(pact, ["supports"])


def count_supports(pact: Pact) -> int:
    return db.session.execute(select(func.count(Support.id)).where(Support.pact_id == pact.id)).scalar_one()


def supported_by(pact: Pact, user) -> bool:
    uid = getattr(user, "id", None)
    return uid is not None and any(s.user_id == uid for s in pact.supports)
