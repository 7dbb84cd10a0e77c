"""Parity of seats, Chair and Vice-Chair from opposite sides, and the rotation of
the Chair's side term after term, as an auditor of the council would check them."""
from datetime import date, timedelta

import pytest

from app.accounts.models import Role
from app.dates import add_months
from app.errors import Invalid, NotAllowed
from app.i18n import city_today
from councils import chairs, seats, terms
from councils import operations as councils
from councils.models import ChairRole, Side


def test_rotation_alternates_over_ten_terms_with_a_mid_term_resignation(full_council, make_user, official):
    council, members = full_council(start=date(2006, 3, 15), first="civil")
    gov, civ = members["government"], members["civil"]
    for number in range(1, 11):
        term = terms.term(council, number)
        expected = Side.CIVIL if number % 2 == 1 else Side.GOVERNMENT
        assert term.chair_side is expected and term.vice_chair_side is expected.other
        assert term.start == add_months(date(2006, 3, 15), 24 * (number - 1))
        assert term.end == add_months(date(2006, 3, 15), 24 * number) - timedelta(days=1)
        chair_pool, vice_pool = (civ, gov) if expected is Side.CIVIL else (gov, civ)
        chair = chairs.appoint(council, "chair", chair_pool[0], actor=official, on=term.start)
        chairs.appoint(council, "vice_chair", vice_pool[0], actor=official, on=term.start)
        assert chair.end_date == term.end
        # The wrong side is refused with a message naming the due side.
        with pytest.raises(Invalid, match="comes from the"):
            chairs.appoint(council, "chair", vice_pool[1], actor=official, on=term.start + timedelta(days=3))
        if number == 7:
            # The Chair resigns mid-term: the office is vacant, then filled from the same side.
            middle = term.start + timedelta(days=300)
            chairs.resign_office(chair, actor=official, on=middle, reason="moved abroad")
            assert chairs.appointments_on(council, middle)[ChairRole.CHAIR] is None
            with pytest.raises(Invalid):
                chairs.appoint(council, "chair", vice_pool[1], actor=official, on=middle)
            successor = chairs.appoint(council, "chair", chair_pool[1], actor=official, on=middle)
            assert successor.side is term.chair_side and successor.end_date == term.end
            assert chairs.appointments_on(council, middle - timedelta(days=1))[ChairRole.CHAIR].id == chair.id
    by_term = chairs.appointments_by_term(council)
    assert sorted(by_term) == list(range(1, 11))
    for number, rows in by_term.items():
        chair_sides = {r.side for r in rows if r.role == "chair"}
        assert chair_sides == {terms.term(council, number).chair_side}
    assert len(by_term[7]) == 3


def test_term_length_is_a_setting_and_term_on_finds_the_running_term(make_council):
    council = make_council(start=date(2021, 1, 31), term_months=18)
    assert terms.term(council, 2).start == date(2022, 7, 31)
    assert terms.term(council, 1).end == date(2022, 7, 30)
    assert terms.term_on(council, date(2021, 1, 30)) is None
    assert terms.term_on(council, date(2022, 7, 30)).number == 1
    assert terms.term_on(council, date(2022, 7, 31)).number == 2
    assert terms.term_on(council, date(2030, 1, 30)).number == 6
    assert terms.term_on(council, date(2030, 1, 31)).number == 7
    assert make_council().term_months == 24


def test_a_council_whose_first_term_started_in_the_past_knows_its_current_term(full_council, official):
    today = city_today()
    council, members = full_council(start=today.replace(year=today.year - 5))
    current = terms.term_on(council, today)
    assert current.number == 3 and current.chair_side is Side.GOVERNMENT
    messages = [str(w.message) for w in chairs.warnings(council, today)]
    assert any("has no Chair" in m and "Local government" in m for m in messages)
    chairs.appoint(council, "chair", members["government"][0], actor=official)
    chairs.appoint(council, "vice_chair", members["civil"][0], actor=official)
    assert not any(w.level == "error" for w in chairs.warnings(council, today))
    schedule = terms.schedule(council, 4, today)
    assert [t.number for t in schedule] == [3, 4, 5, 6]
    assert [t.chair_side for t in schedule] == [Side.GOVERNMENT, Side.CIVIL, Side.GOVERNMENT, Side.CIVIL]


def test_officials_are_warned_before_the_term_ends(make_council):
    council = make_council(start=date(2020, 1, 1), warn_days=30)
    assert not any(w.level == "warning" for w in chairs.warnings(council, date(2021, 11, 30)))
    ending = [w for w in chairs.warnings(council, date(2021, 12, 15)) if w.level == "warning"]
    assert ending and "Civil society" in str(ending[0].message)


def test_seats_are_equal_by_construction_and_a_full_side_refuses_one_more(full_council, make_user, official):
    council, members = full_council(seats=2)
    with pytest.raises(Invalid, match="taken"):
        seats.seat_member(council, make_user(), "government", actor=official, on=date(2020, 6, 1))
    composition = seats.composition(council, date(2020, 6, 1))
    assert len(composition[Side.GOVERNMENT]) == len(composition[Side.CIVIL]) == 2
    # Growing the council grows both sides at once.
    councils.update_council(council, actor=official, seats_per_side=3)
    assert seats.vacant_seats(council, Side.GOVERNMENT, date(2020, 6, 1)) == [3]
    assert seats.vacant_seats(council, Side.CIVIL, date(2020, 6, 1)) == [3]
    with pytest.raises(Invalid, match="Seat 2"):
        councils.update_council(council, actor=official, seats_per_side=1)


def test_a_vacant_seat_and_a_replacement_in_the_same_seat(full_council, make_user, official):
    council, members = full_council()
    leaving = members["civil"][1]
    seats.resign(leaving, actor=official, on=date(2021, 5, 1), reason="resigned")
    assert leaving.end_date == date(2021, 4, 30)
    composition = seats.composition(council, date(2021, 5, 1))
    assert composition[Side.CIVIL][1].mandate is None
    assert composition[Side.CIVIL][1].number == leaving.seat_number
    successor = seats.replace(members["civil"][0], make_user(name="Newcomer"), actor=official, on=date(2021, 6, 1))
    assert successor.seat_number == members["civil"][0].seat_number and successor.side == "civil"
    history = seats.mandate_history(council)
    assert len(history) == 5


def test_a_chair_who_leaves_the_seat_leaves_the_chair(full_council, official):
    council, members = full_council()
    chair = chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    seats.resign(members["government"][0], actor=official, on=date(2020, 9, 1))
    assert chair.end_date == date(2020, 8, 31)
    assert chairs.appointments_on(council, date(2020, 9, 1))[ChairRole.CHAIR] is None


def test_chair_and_vice_chair_never_share_a_side(full_council, official):
    council, members = full_council()
    chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    with pytest.raises(Invalid, match="Vice-Chair comes from the Civil society side"):
        chairs.appoint(council, "vice_chair", members["government"][1], actor=official, on=date(2020, 1, 1))
    with pytest.raises(Invalid, match="must be vacated"):
        chairs.appoint(council, "chair", members["government"][1], actor=official, on=date(2020, 2, 1))


def test_the_rotation_is_frozen_once_a_chair_is_named(full_council, official):
    council, members = full_council()
    councils.update_council(council, actor=official, term_months=36)
    chairs.appoint(council, "chair", members["government"][0], actor=official, on=date(2020, 1, 1))
    with pytest.raises(Invalid, match="rewrite the rotation"):
        councils.update_council(council, actor=official, first_chair_side="civil")


def test_only_officials_configure_councils(make_user, official):
    with pytest.raises(NotAllowed):
        councils.create_council("x", "X", seats_per_side=1, first_term_start=date(2020, 1, 1),
                                first_chair_side="civil", actor=make_user(Role.COUNCIL_MEMBER))
    with pytest.raises(Invalid) as error:
        councils.create_council("ok", "X", seats_per_side=0, first_term_start=date(2020, 1, 1),
                                first_chair_side="civil", actor=official)
    assert error.value.field == "seats_per_side"
