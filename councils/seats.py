"""Seats and mandates: who sits on each side, seating, resignations and replacements.
Both sides have `seats_per_side` seats, so a side is full before it can outnumber the other."""
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts import operations as accounts
from app.accounts.models import Role, User
from app.audit.operations import record, snapshot
from app.database import transaction
from app.errors import Invalid, NotFound
from app.extensions import db
from app.i18n import city_today
from app.i18n import day as written_day
from app.notifications.operations import follow
from app.organisations.models import Organisation

from .models import ChairAppointment, Council, Election, Mandate, Side
from .operations import lock_council, require_official


def mandates_on(council: Council, on: date | None = None) -> list[Mandate]:
    """The mandates held on `on` (default today), by side and seat."""
    on = on or city_today()
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id, Mandate.start_date <= on, Mandate.open_from(on))
        .order_by(Mandate.side, Mandate.seat_number)).scalars().all()


@dataclass
class Seat:
    """One seat of one side, with the mandate holding it on a given day (None while vacant)."""
    side: Side
    number: int
    mandate: Mandate | None


def composition(council: Council, on: date | None = None) -> dict[Side, list[Seat]]:
    """Every seat of both sides on `on`, vacant ones included (mandate None)."""
    held = {(m.side, m.seat_number): m for m in mandates_on(council, on)}
    return {side: [Seat(side, n, held.get((side.value, n))) for n in range(1, council.seats_per_side + 1)]
            for side in Side}


def mandate_history(council: Council) -> list[Mandate]:
    """Every mandate, past and present, by side, seat and start."""
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id)
        .order_by(Mandate.side, Mandate.seat_number, Mandate.start_date)).scalars().all()


def mandate_by_id(mandate_id: int) -> Mandate:
    mandate = db.session.get(Mandate, mandate_id)
    if mandate is None:
        raise NotFound(_l("No such mandate."))
    return mandate


def member_mandates(council: Council, user_id: int) -> list[Mandate]:
    """Every mandate one person has held on the council, in the order of the council's history."""
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id, Mandate.user_id == user_id)
        .order_by(Mandate.side, Mandate.seat_number, Mandate.start_date)).scalars().all()


def mandate_of(council: Council, user, on: date) -> Mandate | None:
    """The seat `user` holds on `on`, or None (also for a visitor who is not signed in)."""
    if user is None or not getattr(user, "id", None):
        return None
    return db.session.execute(
        select(Mandate).where(Mandate.council_id == council.id, Mandate.user_id == user.id,
                              Mandate.start_date <= on, Mandate.open_from(on))).scalars().first()


def vacant_seats(council: Council, side: Side, on: date | None = None) -> list[int]:
    """Seat numbers of `side` free from `on` onwards (no mandate holds them then or later)."""
    on = on or city_today()
    taken = set(db.session.execute(
        select(Mandate.seat_number).where(Mandate.council_id == council.id, Mandate.side == side.value,
                                          Mandate.open_from(on))).scalars())
    return [n for n in range(1, council.seats_per_side + 1) if n not in taken]


def _ensure_council_member_role(user: User, actor) -> None:
    if Role.COUNCIL_MEMBER not in user.roles:
        accounts.set_roles(user, user.roles | {Role.COUNCIL_MEMBER}, user.organisations, actor=actor)


def fill_seat(council: Council, user: User, side: Side, on: date, *, actor, seat_number: int | None = None,
              organisation: Organisation | None = None, election: Election | None = None) -> Mandate:
    """Seat `user` in a free seat of `side` from `on`, refusing when the side is full or the person
    already sits. Runs inside the caller's transaction, with the council locked (`lock_council`)."""
    free = vacant_seats(council, side, on)
    if not free:
        raise Invalid(_l("All %(seats)s seats of the %(side)s side are taken from %(date)s: a member must "
                         "leave before another is seated, so that both sides stay equal.",
                         seats=council.seats_per_side, side=side.label, date=written_day(on, "long")), field="user")
    if seat_number is not None and seat_number not in free:
        raise Invalid(_l("Seat %(seat)s of the %(side)s side is not free from %(date)s.",
                         seat=seat_number, side=side.label, date=written_day(on, "long")), field="user")
    held = db.session.execute(
        select(Mandate.id).where(Mandate.council_id == council.id, Mandate.user_id == user.id,
                                 Mandate.open_from(on))).first()
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


def seat_member(council: Council, user: User, side: str, *, actor, on: date | None = None,
                seat_number: int | None = None, organisation: Organisation | None = None) -> Mandate:
    """Seat `user` on `side` from `on` (default today) in a free seat. Refused when
    every seat of that side is held, so neither side can outnumber the other."""
    require_official(actor)
    try:
        side = Side(side)
    except ValueError:
        raise Invalid(_l("Choose the side of the seat."), field="side") from None
    on = on or city_today()
    with transaction():
        lock_council(council)
        return fill_seat(council, user, side, on, actor=actor, seat_number=seat_number, organisation=organisation)


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
    require_official(actor)
    on = on or city_today()
    with transaction():
        lock_council(mandate.council)
        _end_mandate(mandate, on, (reason or "").strip() or "resigned", actor)


def replace(mandate: Mandate, user: User, *, actor, on: date | None = None, reason: str = "") -> Mandate:
    """End `mandate` and seat `user` in the same seat from `on`, on the same side."""
    require_official(actor)
    on = on or city_today()
    with transaction():
        lock_council(mandate.council)
        _end_mandate(mandate, on, (reason or "").strip() or "replaced", actor)
        return fill_seat(mandate.council, user, mandate.side_enum, on, actor=actor,
                         seat_number=mandate.seat_number, organisation=mandate.organisation)
