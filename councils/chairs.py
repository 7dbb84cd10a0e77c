"""The Chair and the Vice-Chair of each term, and what officials must act on to keep a council whole.
The Chair sits on the side due to chair that term (see `terms.py`), the Vice-Chair on the other."""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.i18n import city_today
from app.i18n import day as written_day

from .models import ChairAppointment, ChairRole, Council, Mandate, Side
from .operations import lock_council, require_official
from .seats import composition
from .terms import term_on


def appointments_on(council: Council, on: date | None = None) -> dict[ChairRole, ChairAppointment | None]:
    """The Chair and the Vice-Chair in office on `on` (default today); None for a vacant office."""
    on = on or city_today()
    rows = db.session.execute(
        select(ChairAppointment).where(ChairAppointment.council_id == council.id,
                                       ChairAppointment.start_date <= on, ChairAppointment.end_date >= on)
    ).scalars().all()
    found = {ChairRole(a.role): a for a in rows}
    return {role: found.get(role) for role in ChairRole}


def appointments_by_term(council: Council) -> dict[int, list[ChairAppointment]]:
    """Every appointment ever made, by term number."""
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
    require_official(actor)
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
        lock_council(council)
        taken = db.session.execute(
            select(ChairAppointment).where(ChairAppointment.council_id == council.id,
                                           ChairAppointment.term_number == current.number,
                                           ChairAppointment.role == role.value,
                                           ChairAppointment.end_date >= on)).scalars().first()
        if taken:
            raise Invalid(_l("%(name)s is %(role)s until %(date)s; that office must be vacated first.",
                             name=taken.mandate.user.name, role=role.label, date=written_day(taken.end_date, "long")),
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
    require_official(actor)
    on = on or city_today()
    if not appointment.start_date < on <= appointment.end_date:
        raise Invalid(_l("Step down on a day after the appointment starts and before it ends."), field="on")
    with transaction():
        before = snapshot(appointment, ["end_date", "end_reason"])
        appointment.end_date = on - timedelta(days=1)
        appointment.end_reason = (reason or "").strip() or "resigned"
        record("council.chair_resigned", appointment, actor=actor, before=before,
               after=snapshot(appointment, ["end_date", "end_reason"]))


def appointment_by_id(appointment_id: int) -> ChairAppointment:
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
                                   date=written_day(council.first_term_start, "long"), side=council.first_chair.label))]
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
                                         date=written_day(current.end, "long"), side=current.chair_side.other.label)))
    seats = composition(council, on)
    vacant = sum(1 for side in Side for seat in seats[side] if seat.mandate is None)
    if vacant:
        out.append(Alert("info", _l("Vacant seats: %(count)s.", count=vacant)))
    return out
