"""Property: whatever sequence of seat, resign, replace, appoint, step down and new
term an official tries, the composition never breaks parity or the rotation.
Refused steps must be refused cleanly (a DomainError, nothing half-written)."""
from datetime import date, timedelta
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import DomainError
from app.extensions import db
from councils import chairs, seats, terms
from councils import operations as councils
from councils.models import ChairAppointment, ChairRole, Mandate, Side

SIDES = st.sampled_from(["government", "civil"])
STEP = st.one_of(
    st.tuples(st.just("seat"), SIDES, st.integers(0, 7)),
    st.tuples(st.just("resign"), st.integers(0, 20)),
    st.tuples(st.just("replace"), st.integers(0, 20), st.integers(0, 7)),
    st.tuples(st.just("appoint"), st.sampled_from(["chair", "vice_chair"]), st.integers(0, 20)),
    st.tuples(st.just("step_down"), st.sampled_from(["chair", "vice_chair"])),
    st.tuples(st.just("days"), st.integers(1, 200)),
    st.tuples(st.just("new_term")),
)
_numbers = count(1)


def check_invariants(council, on: date) -> None:
    db.session.expire_all()
    mandates = db.session.query(Mandate).filter_by(council_id=council.id).all()
    active = [m for m in mandates if m.active_on(on)]
    for side in Side:
        on_side = [m for m in active if m.side == side.value]
        assert len(on_side) <= council.seats_per_side
        assert len({m.seat_number for m in on_side}) == len(on_side), "two members in one seat"
        assert all(1 <= m.seat_number <= council.seats_per_side for m in on_side)
    assert len({m.user_id for m in active}) == len(active), "one person, two seats"
    # No seat is ever held twice on any day: mandates of one seat never overlap.
    by_seat = {}
    for m in sorted(mandates, key=lambda m: m.start_date):
        key = (m.side, m.seat_number)
        if key in by_seat:
            assert by_seat[key].end_date is not None and by_seat[key].end_date < m.start_date
        by_seat[key] = m
    appointments = db.session.query(ChairAppointment).filter_by(council_id=council.id).all()
    for a in appointments:
        term = terms.term(council, a.term_number)
        assert term.start <= a.start_date <= a.end_date <= term.end
        assert a.side is term.side_for(ChairRole(a.role)), "office held from the wrong side"
        assert a.mandate.start_date <= a.start_date
        assert a.mandate.end_date is None or a.end_date <= a.mandate.end_date
    for role in ChairRole:
        rows = sorted((a for a in appointments if a.role == role.value), key=lambda a: a.start_date)
        for earlier, later in zip(rows, rows[1:]):
            assert earlier.end_date < later.start_date, "two holders of one office"
    offices = chairs.appointments_on(council, on)
    if offices[ChairRole.CHAIR] and offices[ChairRole.VICE_CHAIR]:
        assert offices[ChairRole.CHAIR].side is not offices[ChairRole.VICE_CHAIR].side


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=14), seats_per_side=st.integers(1, 3),
       first=st.sampled_from(["government", "civil"]))
def test_no_sequence_of_operations_breaks_parity_or_rotation(app, request_context, official, make_user,
                                                             steps, seats_per_side, first):
    n = next(_numbers)
    start = date(2020, 1, 1)
    council = councils.create_council(f"prop-{n}", f"Property council {n}", seats_per_side=seats_per_side,
                                      first_term_start=start, first_chair_side=first, actor=official)
    people = [make_user(name=f"Person {n}-{i}") for i in range(8)]
    on = start
    for step in steps:
        mandates = db.session.query(Mandate).filter_by(council_id=council.id).order_by(Mandate.id).all()
        try:
            match step:
                case ("seat", side, person):
                    seats.seat_member(council, people[person], side, actor=official, on=on)
                case ("resign", index) if mandates:
                    seats.resign(mandates[index % len(mandates)], actor=official, on=on)
                case ("replace", index, person) if mandates:
                    seats.replace(mandates[index % len(mandates)], people[person], actor=official, on=on)
                case ("appoint", role, index) if mandates:
                    chairs.appoint(council, role, mandates[index % len(mandates)], actor=official, on=on)
                case ("step_down", role):
                    holder = chairs.appointments_on(council, on)[ChairRole(role)]
                    if holder:
                        chairs.resign_office(holder, actor=official, on=on)
                case ("days", days):
                    on += timedelta(days=days)
                case ("new_term",):
                    on = terms.term(council, terms.term_on(council, on).number + 1).start
        except DomainError:
            db.session.rollback()
        check_invariants(council, on)
