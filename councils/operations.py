"""Joint councils: the rules, as plain functions taking models and the acting user.

The rules the Partner State proposals set, and which these functions enforce:
equal seats for local government and civil society (one number, `seats_per_side`);
a Chair and a Vice-Chair from opposite sides; terms of `term_months`; the Chair's
side alternating every term, derived from the first term's side and start date
(never typed); civil seats filled by the accredited social-economy organisations
of the jurisdiction, one ballot each.

Contract for other modules (procurement, vouchers):
    priority_needs(*, category_slug=None, current_only=True) -> list[PriorityNeed]
    priority_need(need_id) -> PriorityNeed | None
A PriorityNeed has id, council (name, slug), category (ServiceCategory),
neighbourhood, rank, rationale, adopted_on (date) and a `title` property.
"""
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.accounts.operations import is_official, user_by_email  # noqa: F401 (the module's callers use them from here)
from app.audit.operations import record, snapshot
from app.config import LOCALES
from app.database import transaction, utcnow
from app.dates import add_months
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.i18n import city_today
from app.i18n import day as written_day
from app.notifications.operations import emit, follow
from app.organisations import operations as organisations
from app.organisations.models import Organisation, ServiceCategory
from app.states import StateMachine

from .events import meeting_context, meeting_ics
from .models import (
    AgendaItem,
    Attendance,
    BallotMark,
    Candidacy,
    ChairAppointment,
    ChairRole,
    Council,
    CountingRule,
    Election,
    ElectionStatus,
    ElectionVoter,
    Jurisdiction,
    Mandate,
    Meeting,
    MeetingStatus,
    Motion,
    MotionStatus,
    PriorityNeed,
    Side,
    TieRule,
    Vote,
    VoteOption,
    VoteRule,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SEATS_PER_SIDE = 50
# Far more priorities than a council ranks; the bound keeps a typo from reaching the database.
MAX_NEED_RANK = 999
MAX_STATEMENT = 2000
# Words the council pages use in their own addresses.
RESERVED_SLUGS = {"new", "meetings", "motions", "elections", "mandates", "appointments", "priority-needs"}
COUNCIL_FIELDS = ("name", "jurisdiction", "area", "mandate", "seats_per_side", "term_months",
                  "first_term_start", "first_chair_side", "locale", "vote_rule", "tie_rule",
                  "counting_rule", "quorum_per_side", "quorum_majority", "warn_days")
# Changing these would rewrite the rotation of terms already served.
ROTATION_FIELDS = ("term_months", "first_term_start", "first_chair_side")

ELECTION = StateMachine({
    ElectionStatus.NOMINATING: {ElectionStatus.VOTING, ElectionStatus.CANCELLED},
    ElectionStatus.VOTING: {ElectionStatus.PUBLISHED, ElectionStatus.CANCELLED},
    ElectionStatus.PUBLISHED: set(),
    ElectionStatus.CANCELLED: set(),
}, labels={s: s.label for s in ElectionStatus})

MEETING = StateMachine({
    MeetingStatus.SCHEDULED: {MeetingStatus.IN_SESSION, MeetingStatus.CANCELLED},
    MeetingStatus.IN_SESSION: {MeetingStatus.CLOSED},
    MeetingStatus.CLOSED: set(),
    MeetingStatus.CANCELLED: set(),
}, labels={s: s.label for s in MeetingStatus})

MOTION = StateMachine({
    MotionStatus.PROPOSED: {MotionStatus.VOTING},
    MotionStatus.VOTING: {MotionStatus.ADOPTED, MotionStatus.REJECTED},
    MotionStatus.ADOPTED: set(),
    MotionStatus.REJECTED: set(),
}, labels={s: s.label for s in MotionStatus})


# Who may act ------------------------------------------------------------------------------

def _require_official(actor) -> None:
    if not is_official(actor):
        raise NotAllowed(_l("Only city officials may configure councils and meetings."))


# Terms and the Chair's rotation -----------------------------------------------------------

@dataclass(frozen=True)
class Term:
    number: int        # 1 for the first term
    start: date
    end: date          # the last day of the term
    chair_side: Side

    @property
    def vice_chair_side(self) -> Side:
        return self.chair_side.other

    def side_for(self, role: ChairRole) -> Side:
        return self.chair_side if role is ChairRole.CHAIR else self.vice_chair_side

    def contains(self, on: date) -> bool:
        return self.start <= on <= self.end


def term(council: Council, number: int) -> Term:
    """Term `number` (1-based): its dates and, by alternation from the first term, its Chair's side."""
    if number < 1:
        raise Invalid(_l("Terms are numbered from 1."))
    start = add_months(council.first_term_start, (number - 1) * council.term_months)
    end = add_months(council.first_term_start, number * council.term_months) - timedelta(days=1)
    side = council.first_chair if number % 2 == 1 else council.first_chair.other
    return Term(number, start, end, side)


def term_on(council: Council, on: date) -> Term | None:
    """The term running on `on`, or None before the first term began."""
    if on < council.first_term_start:
        return None
    months = (on.year - council.first_term_start.year) * 12 + on.month - council.first_term_start.month
    number = max(1, months // council.term_months + 1)
    while term(council, number).start > on:
        number -= 1
    while term(council, number).end < on:
        number += 1
    return term(council, number)


def schedule(council: Council, count: int = 4, on: date | None = None) -> list[Term]:
    """The running term (or the first, if none has begun) and the ones after it."""
    current = term_on(council, on or city_today())
    first = current.number if current else 1
    return [term(council, n) for n in range(first, first + count)]


def terms_so_far(council: Council, on: date | None = None) -> list[Term]:
    current = term_on(council, on or city_today())
    return [term(council, n) for n in range(1, current.number + 1)] if current else []


# Councils ---------------------------------------------------------------------------------

def _clean_council_fields(fields: dict, council: Council | None = None) -> dict:
    out = dict(fields)
    for key in ("name", "area", "mandate"):
        if key in out:
            out[key] = (out[key] or "").strip()
    if "name" in out and not out["name"]:
        raise Invalid(_l("Give the council a name."), field="name")
    if "jurisdiction" in out:
        try:
            out["jurisdiction"] = Jurisdiction(out["jurisdiction"]).value
        except ValueError:
            raise Invalid(_l("Choose the city, a district or a neighbourhood."), field="jurisdiction") from None
        if out["jurisdiction"] != Jurisdiction.CITY.value and not out.get("area"):
            raise Invalid(_l("Name the district or neighbourhood the council serves."), field="area")
    if "seats_per_side" in out:
        seats = out["seats_per_side"]
        if not isinstance(seats, int) or not 1 <= seats <= MAX_SEATS_PER_SIDE:
            raise Invalid(_l("Each side has between 1 and %(max)s seats.", max=MAX_SEATS_PER_SIDE),
                          field="seats_per_side")
    if "term_months" in out:
        months = out["term_months"]
        if not isinstance(months, int) or not 1 <= months <= 120:
            raise Invalid(_l("A term lasts between 1 and 120 months."), field="term_months")
    if "first_chair_side" in out:
        try:
            out["first_chair_side"] = Side(out["first_chair_side"]).value
        except ValueError:
            raise Invalid(_l("Choose which side chairs the first term."), field="first_chair_side") from None
    if "first_term_start" in out and not isinstance(out["first_term_start"], date):
        raise Invalid(_l("Give the date the first term starts."), field="first_term_start")
    if "locale" in out and out["locale"] not in LOCALES:
        raise Invalid(_l("Choose one of the platform's languages."), field="locale")
    for key, enum, message in (("vote_rule", VoteRule, _l("Choose how motions pass.")),
                               ("tie_rule", TieRule, _l("Choose how a tie is settled.")),
                               ("counting_rule", CountingRule, _l("Choose how ballots are counted."))):
        if key in out:
            try:
                out[key] = enum(out[key]).value
            except ValueError:
                raise Invalid(message, field=key) from None
    if "quorum_per_side" in out and not (isinstance(out["quorum_per_side"], int) and out["quorum_per_side"] >= 1):
        raise Invalid(_l("At least one member of each side must be present."), field="quorum_per_side")
    if "warn_days" in out and not (isinstance(out["warn_days"], int) and 0 <= out["warn_days"] <= 365):
        raise Invalid(_l("Warn between 0 and 365 days before a term ends."), field="warn_days")
    # Judged on the values the council will have, so that neither a new quorum nor fewer seats
    # leave a council whose meetings could never be quorate.
    seats = out.get("seats_per_side", getattr(council, "seats_per_side", None))
    quorum = out.get("quorum_per_side", getattr(council, "quorum_per_side", None) or 1)
    if seats is not None and quorum > seats:
        raise Invalid(_l("The quorum of each side cannot exceed its %(seats)s seats, or no meeting could "
                         "ever be quorate.", seats=seats), field="quorum_per_side")
    return out


def create_council(slug: str, name: str, *, seats_per_side: int, first_term_start: date,
                   first_chair_side: str, actor, **fields) -> Council:
    """Set up a council. Both sides get `seats_per_side` seats; the first term may
    have started in the past, and the rotation then runs from that date."""
    _require_official(actor)
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug) or len(slug) > 80 or slug in RESERVED_SLUGS:
        raise Invalid(_l("Use lower-case letters, digits and dashes only, like “city-council”."), field="slug")
    values = _clean_council_fields({"name": name, "seats_per_side": seats_per_side,
                                    "first_term_start": first_term_start,
                                    "first_chair_side": first_chair_side,
                                    **{k: v for k, v in fields.items() if k in COUNCIL_FIELDS}})
    with transaction():
        if db.session.execute(select(Council.id).where(Council.slug == slug)).first():
            raise Invalid(_l("The name “%(slug)s” is taken.", slug=slug), field="slug")
        council = Council(slug=slug, **values)
        db.session.add(council)
        db.session.flush()
        record("council.created", council, actor=actor, after=snapshot(council, ["slug", *COUNCIL_FIELDS]))
    return council


def update_council(council: Council, *, actor, **fields) -> None:
    """Change a council's settings. Seats shrink only down to the highest seat in
    use; the rotation settings are frozen once a Chair has been named."""
    _require_official(actor)
    values = _clean_council_fields({k: v for k, v in fields.items() if k in COUNCIL_FIELDS}, council)
    with transaction():
        db.session.execute(select(Council).where(Council.id == council.id).with_for_update())
        if council.appointments and any(values.get(k, getattr(council, k)) != getattr(council, k)
                                        for k in ROTATION_FIELDS):
            raise Invalid(_l("The term length, the first term's start and its Chair's side cannot change "
                             "once a Chair has been named: it would rewrite the rotation."),
                          field="term_months")
        if "seats_per_side" in values:
            highest = db.session.execute(
                select(func.max(Mandate.seat_number)).where(Mandate.council_id == council.id,
                                                            _open_from(city_today()))).scalar()
            if highest and values["seats_per_side"] < highest:
                raise Invalid(_l("Seat %(seat)s is held on one side: end that mandate before reducing "
                                 "the seats to %(seats)s per side.", seat=highest,
                                 seats=values["seats_per_side"]), field="seats_per_side")
        before = snapshot(council, list(COUNCIL_FIELDS))
        for key, value in values.items():
            setattr(council, key, value)
        record("council.updated", council, actor=actor, before=before,
               after=snapshot(council, list(COUNCIL_FIELDS)))


def councils(page: int = 1, per_page: int = 25):
    return db.paginate(select(Council).order_by(Council.name), page=page, per_page=per_page, error_out=False)


def all_councils() -> list[Council]:
    return db.session.execute(select(Council).order_by(Council.name)).scalars().all()


def council_by_slug(slug: str) -> Council:
    council = db.session.execute(select(Council).where(Council.slug == slug)).scalar_one_or_none()
    if council is None:
        raise NotFound(_l("No council “%(slug)s”.", slug=slug))
    return council


# Seats and mandates -----------------------------------------------------------------------

def _open_from(on: date):
    """Mandates that still hold their seat on or after `on`."""
    return or_(Mandate.end_date.is_(None), Mandate.end_date >= on)


def mandates_on(council: Council, on: date | None = None) -> list[Mandate]:
    on = on or city_today()
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id, Mandate.start_date <= on, _open_from(on))
        .order_by(Mandate.side, Mandate.seat_number)).scalars().all()


@dataclass
class SeatView:
    side: Side
    number: int
    mandate: Mandate | None


def composition(council: Council, on: date | None = None) -> dict[Side, list[SeatView]]:
    """Every seat of both sides on `on`, vacant ones included (mandate None)."""
    held = {(m.side, m.seat_number): m for m in mandates_on(council, on)}
    return {side: [SeatView(side, n, held.get((side.value, n))) for n in range(1, council.seats_per_side + 1)]
            for side in Side}


def mandate_history(council: Council) -> list[Mandate]:
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id)
        .order_by(Mandate.side, Mandate.seat_number, Mandate.start_date)).scalars().all()


def get_mandate(mandate_id: int) -> Mandate:
    mandate = db.session.get(Mandate, mandate_id)
    if mandate is None:
        raise NotFound(_l("No such mandate."))
    return mandate


def member_mandates(council: Council, user: User) -> list[Mandate]:
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id, Mandate.user_id == user.id)
        .order_by(Mandate.start_date)).scalars().all()


def mandate_of(council: Council, user, on: date) -> Mandate | None:
    if user is None or not getattr(user, "id", None):
        return None
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id, Mandate.user_id == user.id,
                              Mandate.start_date <= on, _open_from(on))).scalars().first()


def vacant_seats(council: Council, side: Side, on: date | None = None) -> list[int]:
    """Seat numbers of `side` free from `on` onwards (no mandate holds them then or later)."""
    on = on or city_today()
    taken = set(db.session.execute(
        select(Mandate.seat_number).where(Mandate.council_id == council.id, Mandate.side == side.value,
                                          _open_from(on))).scalars())
    return [n for n in range(1, council.seats_per_side + 1) if n not in taken]


def _ensure_council_member_role(user: User, actor) -> None:
    if Role.COUNCIL_MEMBER not in user.roles:
        accounts.set_roles(user, user.roles | {Role.COUNCIL_MEMBER}, user.organisations, actor=actor)


def _seat(council: Council, user: User, side: Side, on: date, *, actor, seat_number: int | None = None,
          organisation: Organisation | None = None, election: Election | None = None) -> Mandate:
    free = vacant_seats(council, side, on)
    if not free:
        raise Invalid(_l("All %(seats)s seats of the %(side)s side are taken from %(date)s: a member must "
                         "leave before another is seated, so that both sides stay equal.",
                         seats=council.seats_per_side, side=side.label, date=on.isoformat()), field="user")
    if seat_number is not None and seat_number not in free:
        raise Invalid(_l("Seat %(seat)s of the %(side)s side is not free from %(date)s.",
                         seat=seat_number, side=side.label, date=on.isoformat()), field="user")
    held = db.session.execute(
        select(Mandate.id).where(Mandate.council_id == council.id, Mandate.user_id == user.id,
                                 _open_from(on))).first()
    if held:
        raise Invalid(_l("%(name)s already holds a seat on this council.", name=user.name), field="user")
    mandate = Mandate(council=council, user=user, side=side.value, seat_number=seat_number or free[0],
                      start_date=on, organisation=organisation, election_id=getattr(election, "id", None))
    db.session.add(mandate)
    _ensure_council_member_role(user, actor)
    record("council.member_seated", mandate, actor=actor,
           after=snapshot(mandate, ["council_id", "user_id", "side", "seat_number", "start_date",
                                    "organisation_id", "election_id"]))
    follow(user, "council", council.id)
    return mandate


def _lock(council: Council) -> None:
    # Seat changes on one council take turns, so two officials never fill the last seat twice.
    db.session.execute(select(Council.id).where(Council.id == council.id).with_for_update())


def seat_member(council: Council, user: User, side: str, *, actor, on: date | None = None,
                seat_number: int | None = None, organisation: Organisation | None = None) -> Mandate:
    """Seat `user` on `side` from `on` (default today) in a free seat. Refused when
    every seat of that side is held, so neither side can outnumber the other."""
    _require_official(actor)
    try:
        side = Side(side)
    except ValueError:
        raise Invalid(_l("Choose the side of the seat."), field="side") from None
    on = on or city_today()
    with transaction():
        _lock(council)
        return _seat(council, user, side, on, actor=actor, seat_number=seat_number, organisation=organisation)


def _end_mandate(mandate: Mandate, on: date, reason: str, actor) -> None:
    if mandate.end_date is not None and mandate.end_date < on:
        raise Invalid(_l("This mandate has already ended."), field="on")
    if on <= mandate.start_date:
        raise Invalid(_l("A mandate ends after the day it starts."), field="on")
    before = snapshot(mandate, ["end_date", "end_reason"])
    mandate.end_date = on - timedelta(days=1)
    mandate.end_reason = reason
    # A Chair or Vice-Chair who leaves the seat leaves that office too.
    for appointment in db.session.execute(
            select(ChairAppointment).where(ChairAppointment.mandate_id == mandate.id,
                                           ChairAppointment.end_date >= on)).scalars():
        if appointment.start_date >= on:
            db.session.delete(appointment)
        else:
            appointment.end_date = on - timedelta(days=1)
            appointment.end_reason = reason
    record("council.member_left", mandate, actor=actor, before=before,
           after=snapshot(mandate, ["end_date", "end_reason"]))


def resign(mandate: Mandate, *, actor, on: date | None = None, reason: str = "") -> None:
    """End a mandate: the member serves until the day before `on`; the seat is vacant from `on`."""
    _require_official(actor)
    on = on or city_today()
    with transaction():
        _lock(mandate.council)
        _end_mandate(mandate, on, (reason or "").strip() or "resigned", actor)


def replace(mandate: Mandate, user: User, *, actor, on: date | None = None, reason: str = "") -> Mandate:
    """End `mandate` and seat `user` in the same seat from `on`, on the same side."""
    _require_official(actor)
    on = on or city_today()
    with transaction():
        _lock(mandate.council)
        _end_mandate(mandate, on, (reason or "").strip() or "replaced", actor)
        return _seat(mandate.council, user, mandate.side_enum, on, actor=actor,
                     seat_number=mandate.seat_number, organisation=mandate.organisation)


# Chair and Vice-Chair ---------------------------------------------------------------------

def appointments_on(council: Council, on: date | None = None, *options) -> dict[ChairRole, ChairAppointment | None]:
    on = on or city_today()
    rows = db.session.execute(
        select(ChairAppointment).where(ChairAppointment.council_id == council.id,
                                       ChairAppointment.start_date <= on, ChairAppointment.end_date >= on)
        .options(*options)
    ).scalars().all()
    found = {ChairRole(a.role): a for a in rows}
    return {role: found.get(role) for role in ChairRole}


def appointments_by_term(council: Council) -> dict[int, list[ChairAppointment]]:
    rows = db.session.execute(
        select(ChairAppointment).where(ChairAppointment.council_id == council.id)
        .order_by(ChairAppointment.term_number, ChairAppointment.role, ChairAppointment.start_date)
    ).scalars().all()
    out: dict[int, list[ChairAppointment]] = {}
    for row in rows:
        out.setdefault(row.term_number, []).append(row)
    return out


def appoint(council: Council, role: str, mandate: Mandate, *, actor, on: date | None = None) -> ChairAppointment:
    """Name the Chair or Vice-Chair from `on` until the end of that term.

    The Chair must sit on the side due to chair that term, the Vice-Chair on the
    other; each office has one holder at a time, so after a Chair resigns mid-term
    the successor necessarily comes from the same side."""
    _require_official(actor)
    try:
        role = ChairRole(role)
    except ValueError:
        raise Invalid(_l("Choose Chair or Vice-Chair."), field="role") from None
    on = on or city_today()
    current = term_on(council, on)
    if current is None:
        raise Invalid(_l("The council's first term starts on %(date)s.", date=written_day(council.first_term_start)),
                      field="on")
    if mandate.council_id != council.id or not mandate.active_on(on):
        raise Invalid(_l("Only a member seated on that day can be named."), field="mandate")
    due = current.side_for(role)
    if mandate.side_enum is not due:
        raise Invalid(_l("In term %(number)s the %(role)s comes from the %(side)s side.",
                         number=current.number, role=role.label, side=due.label), field="mandate")
    with transaction():
        _lock(council)
        taken = db.session.execute(
            select(ChairAppointment).where(ChairAppointment.council_id == council.id,
                                           ChairAppointment.term_number == current.number,
                                           ChairAppointment.role == role.value,
                                           ChairAppointment.end_date >= on)).scalars().first()
        if taken:
            raise Invalid(_l("%(name)s is %(role)s until %(date)s; that office must be vacated first.",
                             name=taken.mandate.user.name, role=role.label, date=taken.end_date.isoformat()),
                          field="mandate")
        end = current.end if mandate.end_date is None else min(current.end, mandate.end_date)
        appointment = ChairAppointment(council=council, term_number=current.number, role=role.value,
                                       mandate=mandate, start_date=on, end_date=end)
        db.session.add(appointment)
        record("council.chair_appointed", appointment, actor=actor,
               after={"term": current.number, "role": role.value, "user_id": mandate.user_id,
                      "side": mandate.side, "start_date": on, "end_date": end})
    return appointment


def resign_office(appointment: ChairAppointment, *, actor, on: date | None = None, reason: str = "") -> None:
    """The Chair or Vice-Chair steps down from `on` (keeping the seat); the office is
    vacant until a successor from the same side is named for the rest of the term."""
    _require_official(actor)
    on = on or city_today()
    if not appointment.start_date < on <= appointment.end_date:
        raise Invalid(_l("Step down on a day after the appointment starts and before it ends."), field="on")
    with transaction():
        before = snapshot(appointment, ["end_date", "end_reason"])
        appointment.end_date = on - timedelta(days=1)
        appointment.end_reason = (reason or "").strip() or "resigned"
        record("council.chair_resigned", appointment, actor=actor, before=before,
               after=snapshot(appointment, ["end_date", "end_reason"]))


def get_appointment(appointment_id: int) -> ChairAppointment:
    row = db.session.get(ChairAppointment, appointment_id)
    if row is None:
        raise NotFound(_l("No such appointment."))
    return row


@dataclass
class Alert:
    level: str
    message: str


def warnings(council: Council, on: date | None = None) -> list[Alert]:
    """What officials must act on: a term without its Chair or Vice-Chair, a term
    about to end, vacant seats."""
    on = on or city_today()
    out = []
    current = term_on(council, on)
    if current is None:
        return [Alert("info", _l("The first term starts on %(date)s; its Chair comes from the %(side)s side.",
                                   date=council.first_term_start.isoformat(), side=council.first_chair.label))]
    offices = appointments_on(council, on)
    for role, appointment in offices.items():
        if appointment is None:
            out.append(Alert("error", _l("Term %(number)s has no %(role)s: name one from the %(side)s side.",
                                           number=current.number, role=role.label,
                                           side=current.side_for(role).label)))
    days_left = (current.end - on).days
    if days_left <= council.warn_days:
        out.append(Alert("warning", _l("Term %(number)s ends on %(date)s. From the next term the Chair comes "
                                         "from the %(side)s side.", number=current.number,
                                         date=current.end.isoformat(), side=current.chair_side.other.label)))
    seats = composition(council, on)
    vacant = sum(1 for side in Side for seat in seats[side] if seat.mandate is None)
    if vacant:
        out.append(Alert("info", _l("Vacant seats: %(count)s.", count=vacant)))
    return out


# Civil selection ---------------------------------------------------------------------------

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


NO_VACANT_CIVIL_SEAT = _l("No civil seat is vacant, so no selection round can be called now.")


def open_election(council: Council, title: str, seats: int, *, actor, counting_rule: str | None = None) -> Election:
    """Open a selection round for up to the civil seats vacant today (refused when none is)."""
    _require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the selection round a title."), field="title")
    vacant = len(vacant_seats(council, Side.CIVIL))
    if not vacant:
        raise Invalid(NO_VACANT_CIVIL_SEAT, field="seats")
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


def get_election(election_id: int) -> Election:
    row = db.session.get(Election, election_id)
    if row is None:
        raise NotFound(_l("No such selection round."))
    return row


def elections_of(council: Council) -> list[Election]:
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
    _require_official(actor)
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
        for candidacy_id in sorted(chosen):
            db.session.add(BallotMark(election_id=election.id, candidacy_id=candidacy_id))
        record("council_election.ballot_cast", election, actor=actor,
               after={"organisation": organisation.slug, "marks": len(chosen)})


def tally(election: Election) -> list[tuple[Candidacy, int]]:
    """Totals per candidate, most votes first; a tie goes to the earlier nomination."""
    counts = dict(db.session.execute(
        select(BallotMark.candidacy_id, func.count(BallotMark.id)).where(BallotMark.election_id == election.id)
        .group_by(BallotMark.candidacy_id)).all())
    rows = [(c, counts.get(c.id, 0)) for c in election.candidacies]
    return sorted(rows, key=lambda row: (-row[1], row[0].id))


def publish_results(election: Election, *, actor, seat_from: date | None = None) -> list[Mandate]:
    """Count, publish the totals, and seat the elected in vacant civil seats from `seat_from`.
    A candidate needs at least one vote; all or nothing is seated."""
    _require_official(actor)
    ELECTION.check(election.status_enum, ElectionStatus.PUBLISHED)
    seat_from = seat_from or city_today()
    seated = []
    with transaction():
        _lock(election.council)
        results = tally(election)
        elected = [c for c, votes in results if votes > 0][:election.seats]
        for candidacy, votes in results:
            candidacy.votes = votes
            candidacy.elected = candidacy in elected
        for candidacy in elected:
            seated.append(_seat(election.council, candidacy.user, Side.CIVIL, seat_from, actor=actor,
                                organisation=candidacy.organisation, election=election))
        election.status = ElectionStatus.PUBLISHED.value
        election.seat_from = seat_from
        election.published_at = utcnow()
        record("council_election.published", election, actor=actor,
               after={"totals": {c.user.name: v for c, v in results},
                      "elected": [c.user_id for c in elected], "ballots": len(election.voters)})
    return seated


def cancel_election(election: Election, *, actor) -> None:
    _require_official(actor)
    ELECTION.check(election.status_enum, ElectionStatus.CANCELLED)
    with transaction():
        election.status = ElectionStatus.CANCELLED.value
        record("council_election.cancelled", election, actor=actor, after={"status": election.status})


def voting_organisations(user) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role(Role.ORG_MEMBER):
        return []
    return list(user.organisations)


# Meetings -------------------------------------------------------------------------------

def schedule_meeting(council: Council, title: str, starts_at: datetime, *, actor, duration_minutes: int = 120,
                     location: str = "", locale: str | None = None, agenda: list[str] = ()) -> Meeting:
    """Schedule a meeting with its agenda; it is held in `locale` (default the council's language)."""
    _require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the meeting a title."), field="title")
    if starts_at is None or starts_at.tzinfo is None:
        raise Invalid(_l("Give the date and time of the meeting."), field="starts_at")
    if not isinstance(duration_minutes, int) or not 1 <= duration_minutes <= 24 * 60:
        raise Invalid(_l("A meeting lasts between 1 minute and 24 hours."), field="duration_minutes")
    locale = locale or council.locale
    if locale not in LOCALES:
        raise Invalid(_l("Choose one of the platform's languages."), field="locale")
    with transaction():
        meeting = Meeting(council=council, title=title, starts_at=starts_at, duration_minutes=duration_minutes,
                          location=(location or "").strip(), locale=locale)
        db.session.add(meeting)
        for position, item in enumerate([a.strip() for a in agenda if a and a.strip()], start=1):
            meeting.agenda.append(AgendaItem(position=position, title=item))
        record("council_meeting.scheduled", meeting, actor=actor,
               after={**snapshot(meeting, ["council_id", "title", "starts_at", "location", "locale"]),
                      "agenda": [a.title for a in meeting.agenda]})
    return meeting


def add_agenda_item(meeting: Meeting, title: str, *, actor, description: str = "") -> AgendaItem:
    _require_official(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the agenda item a title."), field="title")
    if meeting.status_enum not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_SESSION):
        raise Invalid(_l("The agenda of a closed meeting cannot change."), field="title")
    with transaction():
        item = AgendaItem(meeting=meeting, position=len(meeting.agenda) + 1, title=title,
                          description=(description or "").strip())
        db.session.add(item)
        record("council_meeting.agenda_item_added", meeting, actor=actor, after={"title": title})
    return item


def send_notice(meeting: Meeting, *, actor) -> list[User]:
    """Record that notice went to every member seated on the meeting's day; returns them.
    Members read it on the council and meeting pages and in the .ics calendar."""
    _require_official(actor)
    if meeting.status_enum is not MeetingStatus.SCHEDULED:
        raise Invalid(_l("Notice goes out before the meeting."))
    members = [m.user for m in mandates_on(meeting.council, meeting.on)]
    with transaction():
        meeting.notice_sent_at = utcnow()
        record("council_meeting.notice_sent", meeting, actor=actor,
               after={"recipients": [u.id for u in members]})
        emit("council.meeting_convened", "council_meeting", meeting.id, actor=actor, recipients=[u.id for u in members],
             attachments=[meeting_ics(meeting)], **meeting_context(meeting))
    return members


def notices_for(council: Council, user) -> list[Meeting]:
    """Scheduled meetings whose notice went out, for a member seated on the meeting's day."""
    if user is None or not getattr(user, "id", None):
        return []
    meetings = db.session.execute(
        select(Meeting).where(Meeting.council_id == council.id, Meeting.status == MeetingStatus.SCHEDULED.value,
                              Meeting.notice_sent_at.is_not(None)).order_by(Meeting.starts_at)).scalars().all()
    return [m for m in meetings if mandate_of(council, user, m.on) is not None]


def cancel_meeting(meeting: Meeting, *, actor) -> None:
    _require_official(actor)
    MEETING.check(meeting.status_enum, MeetingStatus.CANCELLED)
    with transaction():
        meeting.status = MeetingStatus.CANCELLED.value
        record("council_meeting.cancelled", meeting, actor=actor, after={"status": meeting.status})


def get_meeting(meeting_id: int) -> Meeting:
    row = db.session.get(Meeting, meeting_id)
    if row is None:
        raise NotFound(_l("No such meeting."))
    return row


def meetings_of(council: Council, page: int = 1, per_page: int = 20):
    return db.paginate(select(Meeting).where(Meeting.council_id == council.id)
                       .order_by(Meeting.starts_at.desc()), page=page, per_page=per_page, error_out=False)


def all_meetings(council: Council) -> list[Meeting]:
    return db.session.execute(select(Meeting).where(Meeting.council_id == council.id)
                              .order_by(Meeting.starts_at)).scalars().all()


def meeting_detail(meeting_id: int) -> Meeting:
    """A meeting with its agenda, attendance, motions and votes loaded in a few queries."""
    row = db.session.execute(
        select(Meeting).where(Meeting.id == meeting_id).options(
            selectinload(Meeting.agenda), selectinload(Meeting.attendance),
            selectinload(Meeting.motions).selectinload(Motion.votes),
            selectinload(Meeting.motions).selectinload(Motion.need_category))).scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No such meeting."))
    return row


def meeting_for_minutes(meeting_id: int) -> Meeting:
    """A meeting with its council and agenda, in one statement: what its minutes show of
    the meeting itself (`minutes_record` reads the rest)."""
    row = db.session.execute(
        select(Meeting).where(Meeting.id == meeting_id).options(joinedload(Meeting.agenda))
    ).unique().scalar_one_or_none()
    if row is None:
        raise NotFound(_l("No such meeting."))
    return row


@dataclass(frozen=True)
class MinutesAttendance:
    name: str
    side: Side
    present: bool


@dataclass(frozen=True)
class MinutesMotion:
    title: str
    text: str
    status: MotionStatus
    result_note: str
    counts: dict[str, int]


@dataclass(frozen=True)
class MinutesOffice:
    name: str
    side: Side


@dataclass(frozen=True)
class MinutesRecord:
    attendance: list[MinutesAttendance]
    motions: list[MinutesMotion]
    offices: dict[ChairRole, MinutesOffice | None]
    quorum: "Quorum"


def minutes_record(meeting: Meeting) -> MinutesRecord:
    """What a meeting's minutes show besides the meeting: who attended (name, side, present),
    each motion's result with its votes counted by the database, the Chair and Vice-Chair in
    office that day, and the quorum, the same as `quorum(meeting)` and `appointments_on` give.
    Three statements of plain rows: no member's account, mandate, vote or appointment is
    loaded as an object (building those was most of a minutes PDF's time outside WeasyPrint)."""
    attendance = [MinutesAttendance(name, Side(side), bool(present)) for name, side, present in db.session.execute(
        select(User.name, Mandate.side, Attendance.present)
        .join(Mandate, Mandate.id == Attendance.mandate_id).join(User, User.id == Mandate.user_id)
        .where(Attendance.meeting_id == meeting.id).order_by(Attendance.id))]
    options = [option.value for option in VoteOption]
    motions = [MinutesMotion(row.title, row.text, MotionStatus(row.status), row.result_note,
                             {option: row._mapping[option] for option in options})
               for row in db.session.execute(
                   select(Motion.title, Motion.text, Motion.status, Motion.result_note,
                          *[func.count(Vote.id).filter(Vote.option == option).label(option) for option in options])
                   .outerjoin(Vote, Vote.motion_id == Motion.id).where(Motion.meeting_id == meeting.id)
                   .group_by(Motion.id).order_by(Motion.id))]
    on = meeting.on
    found = {ChairRole(role): MinutesOffice(name, Side(side)) for role, name, side in db.session.execute(
        select(ChairAppointment.role, User.name, Mandate.side)
        .join(Mandate, Mandate.id == ChairAppointment.mandate_id).join(User, User.id == Mandate.user_id)
        .where(ChairAppointment.council_id == meeting.council_id, ChairAppointment.start_date <= on,
               ChairAppointment.end_date >= on))}
    present = {side: 0 for side in Side}
    for line in attendance:
        if line.present:
            present[line.side] += 1
    return MinutesRecord(attendance, motions, {role: found.get(role) for role in ChairRole},
                         _quorum(meeting.council, present))


def runs_meeting(meeting: Meeting, user) -> bool:
    """Whether `user` is the Chair or Vice-Chair in office on the meeting's day."""
    if user is None or not getattr(user, "id", None):
        return False
    offices = appointments_on(meeting.council, meeting.on)
    return any(a is not None and a.mandate.user_id == user.id for a in offices.values())


def _require_runner(meeting: Meeting, actor) -> None:
    if not runs_meeting(meeting, actor):
        raise NotAllowed(_l("Only the council's Chair or Vice-Chair runs its meetings."))


def record_attendance(meeting: Meeting, present_mandate_ids, *, actor) -> None:
    """The Chair or Vice-Chair records who is present; the meeting opens on the
    first record. Every member seated that day gets a line, present or absent.
    A meeting cannot open until the term's Chair and Vice-Chair are both named, nor before
    its day: what it decides is dated on that day (votes, the needs it adopts)."""
    _require_runner(meeting, actor)
    if meeting.status_enum not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_SESSION):
        raise Invalid(_l("Attendance is recorded while the meeting is open."))
    if meeting.on > city_today():
        raise Invalid(_l("The meeting opens on its day, %(date)s; to meet earlier, cancel it and schedule "
                         "another.", date=meeting.on.isoformat()))
    offices = appointments_on(meeting.council, meeting.on)
    if any(a is None for a in offices.values()):
        raise Invalid(_l("The term's Chair and Vice-Chair must both be named before the meeting opens."))
    present = {int(i) for i in present_mandate_ids}
    seated = mandates_on(meeting.council, meeting.on)
    with transaction():
        lines = {a.mandate_id: a for a in meeting.attendance}
        for mandate in seated:
            line = lines.get(mandate.id)
            if line is None:
                meeting.attendance.append(Attendance(mandate=mandate, present=mandate.id in present))
            else:
                line.present = mandate.id in present
        if meeting.status_enum is MeetingStatus.SCHEDULED:
            meeting.status = MeetingStatus.IN_SESSION.value
        record("council_meeting.attendance", meeting, actor=actor,
               after={"present": sorted(m.user_id for m in seated if m.id in present)})


@dataclass
class Quorum:
    present: dict[Side, int]
    total_present: int
    needed_per_side: int
    needed_total: int
    met: bool
    reasons: list = field(default_factory=list)


def quorum(meeting: Meeting) -> Quorum:
    """The council's quorum rule: at least `quorum_per_side` members of each side and,
    when set, a majority of all seats (vacant seats count, so an emptied council cannot decide)."""
    present = {side: 0 for side in Side}
    for line in meeting.attendance:
        if line.present:
            present[line.mandate.side_enum] += 1
    return _quorum(meeting.council, present)


def _quorum(council: Council, present: dict[Side, int]) -> Quorum:
    total = sum(present.values())
    needed_total = council.total_seats // 2 + 1 if council.quorum_majority else 0
    reasons = []
    for side in Side:
        if present[side] < council.quorum_per_side:
            reasons.append(_l("The %(side)s side has %(present)s members present; %(needed)s are needed.",
                              side=side.label, present=present[side], needed=council.quorum_per_side))
    if total < needed_total:
        reasons.append(_l("%(present)s members are present; a majority of the %(seats)s seats is %(needed)s.",
                          present=total, seats=council.total_seats, needed=needed_total))
    return Quorum(present, total, council.quorum_per_side, needed_total, not reasons, reasons)


def propose_motion(meeting: Meeting, title: str, *, actor, text: str = "", agenda_item: AgendaItem | None = None,
                   need_category: ServiceCategory | None = None, need_neighbourhood: str = "",
                   need_rank: int | None = None, need_rationale: str = "") -> Motion:
    """Put a motion on an agenda item. With a service category it proposes a priority
    need (rank 1 is the most urgent) that the council adopts if the motion passes."""
    _require_runner(meeting, actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(_l("Give the motion a title."), field="title")
    if meeting.status_enum not in (MeetingStatus.SCHEDULED, MeetingStatus.IN_SESSION):
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


def get_motion(motion_id: int) -> Motion:
    row = db.session.get(Motion, motion_id)
    if row is None:
        raise NotFound(_l("No such motion."))
    return row


def open_vote(motion: Motion, *, actor) -> None:
    """Open the vote; only with the meeting in session and its quorum met."""
    meeting = motion.meeting
    _require_runner(meeting, actor)
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


def close_vote(motion: Motion, *, actor) -> Motion:
    """Close the vote: absent members are recorded absent, present members who did not
    vote as abstaining; the result follows the council's rule and tie setting. An
    adopted motion proposing a priority need registers it (replacing the council's
    current need for the same category and neighbourhood)."""
    meeting = motion.meeting
    council = meeting.council
    _require_runner(meeting, actor)
    if motion.status_enum is not MotionStatus.VOTING:
        raise Invalid(_l("This motion is not open for voting."))
    with transaction():
        voted = {v.mandate_id for v in motion.votes}
        for line in meeting.attendance:
            if line.mandate_id not in voted:
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
            _register_need(motion, council)
        record("council_motion.decided", motion, actor=actor,
               after={"status": motion.status, "counts": motion.counts(), "note": note})
        emit("council.motion_decided", "council", council.id, actor=actor, council=council.name, motion=motion.title,
             result=motion.status, meeting_id=meeting.id, **{k: motion.counts().get(k, 0) for k in ("yes", "no", "abstain")})
    return motion


def _register_need(motion: Motion, council: Council) -> PriorityNeed:
    on = motion.meeting.on
    for old in db.session.execute(
            select(PriorityNeed).where(PriorityNeed.council_id == council.id,
                                       PriorityNeed.category_id == motion.need_category_id,
                                       PriorityNeed.neighbourhood == motion.need_neighbourhood,
                                       PriorityNeed.superseded_on.is_(None))).scalars():
        old.superseded_on = on
    need = PriorityNeed(council=council, motion=motion, category_id=motion.need_category_id,
                        neighbourhood=motion.need_neighbourhood, rank=motion.need_rank,
                        rationale=motion.need_rationale, adopted_on=on)
    db.session.add(need)
    record("council_priority_need.adopted", need, actor=None,
           after=snapshot(need, ["council_id", "motion_id", "category_id", "neighbourhood", "rank", "adopted_on"]))
    return need


def record_minutes(meeting: Meeting, minutes: str, *, actor, close: bool = False) -> None:
    """The Chair or Vice-Chair writes the minutes; closing needs every vote closed."""
    _require_runner(meeting, actor)
    minutes = (minutes or "").strip()
    if meeting.status_enum not in (MeetingStatus.IN_SESSION, MeetingStatus.CLOSED):
        raise Invalid(_l("Minutes are recorded once the meeting has opened."), field="minutes")
    if close:
        if not minutes:
            raise Invalid(_l("Write the minutes before closing the meeting."), field="minutes")
        if any(m.status_enum is MotionStatus.VOTING for m in meeting.motions):
            raise Invalid(_l("Close every open vote before closing the meeting."), field="minutes")
    with transaction():
        before = snapshot(meeting, ["status", "minutes"])
        meeting.minutes = minutes
        meeting.minutes_by_id = actor.id
        if close and meeting.status_enum is MeetingStatus.IN_SESSION:
            MEETING.check(meeting.status_enum, MeetingStatus.CLOSED)
            meeting.status = MeetingStatus.CLOSED.value
            emit("council.minutes_published", "council", meeting.council_id, actor=actor, **meeting_context(meeting))
        record("council_meeting.minutes", meeting, actor=actor, before=before,
               after=snapshot(meeting, ["status", "minutes"]))


# Priority needs: the contract other modules use --------------------------------------------

def priority_needs(*, category_slug: str | None = None, current_only: bool = True,
                   council: Council | None = None) -> list[PriorityNeed]:
    """Priority needs adopted by the councils, most urgent first (rank, then newest).
    `current_only` leaves out needs replaced by a later adoption for the same
    category and neighbourhood."""
    stmt = (select(PriorityNeed).join(ServiceCategory, PriorityNeed.category_id == ServiceCategory.id)
            .order_by(PriorityNeed.rank, PriorityNeed.adopted_on.desc(), PriorityNeed.id.desc()))
    if category_slug:
        stmt = stmt.where(ServiceCategory.slug == category_slug)
    if current_only:
        stmt = stmt.where(PriorityNeed.superseded_on.is_(None))
    if council is not None:
        stmt = stmt.where(PriorityNeed.council_id == council.id)
    return db.session.execute(stmt).scalars().all()


def priority_need(need_id: int) -> PriorityNeed | None:
    """One priority need by id, current or not; None if there is none."""
    return db.session.get(PriorityNeed, need_id)


# A member's public record -----------------------------------------------------------------

def votes_of(mandate_ids: list[int]) -> list[Vote]:
    if not mandate_ids:
        return []
    return db.session.execute(
        select(Vote).where(Vote.mandate_id.in_(mandate_ids))
        .options(selectinload(Vote.motion).selectinload(Motion.meeting)).order_by(Vote.id.desc())
    ).scalars().all()


def members_ever(council: Council) -> list[User]:
    return db.session.execute(
        select(User).join(Mandate, Mandate.user_id == User.id).where(Mandate.council_id == council.id)
        .distinct().order_by(User.name)).scalars().all()

